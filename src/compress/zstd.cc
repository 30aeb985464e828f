#include "compress/zstd.h"

#include <cstdlib>
#include <memory>

#include <fmt/format.h>
#include <zstd.h>

namespace lifeboat::compress {
namespace {

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

ZSTD_CCtx* thread_cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> ctx(ZSTD_createCCtx());
  return ctx.get();
}
ZSTD_DCtx* thread_dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> ctx(ZSTD_createDCtx());
  return ctx.get();
}

}  // namespace

size_t zstd_compress(ByteSpan input, int level, Bytes& out) {
  size_t start = out.size();
  out.resize(start + ZSTD_compressBound(input.size()));
  size_t n = ZSTD_compressCCtx(thread_cctx(), out.data() + start, out.size() - start, input.data(), input.size(),
                               level);
  if (ZSTD_isError(n)) std::abort();  // only possible with a too-small buffer: a bug
  out.resize(start + n);
  return n;
}

size_t zstd_compress_bound(size_t input_size) { return ZSTD_compressBound(input_size); }

size_t zstd_compress_into(ByteSpan input, int level, MutableByteSpan out) {
  size_t n = ZSTD_compressCCtx(thread_cctx(), out.data(), out.size(), input.data(), input.size(), level);
  if (ZSTD_isError(n)) std::abort();  // only possible with a too-small buffer: a bug
  return n;
}

namespace {

Status check_decompressed(size_t n, size_t raw_size, Bytes& out, size_t start) {
  if (!ZSTD_isError(n) && n == raw_size) return Status::ok();
  out.resize(start);
  return Status(ErrorCode::kCorrupt,
                ZSTD_isError(n) ? fmt::format("zstd: {}", ZSTD_getErrorName(n))
                                : fmt::format("zstd: decompressed to {} bytes, expected {}", n, raw_size));
}

}  // namespace

size_t zstd_compress_with_prefix(ByteSpan input, ByteSpan prefix, int level, MutableByteSpan out) {
  ZSTD_CCtx* c = thread_cctx();
  ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
  // The window must reach back over the whole prefix (and stay within
  // what a decompressor accepts by default: 2^27).
  int log = 10;
  while ((size_t{1} << log) < prefix.size() + input.size() && log < 27) ++log;
  ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, log);
  ZSTD_CCtx_refPrefix(c, prefix.data(), prefix.size());
  size_t n = ZSTD_compress2(c, out.data(), out.size(), input.data(), input.size());
  ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);  // the plain functions expect a clean context
  if (ZSTD_isError(n)) std::abort();  // only possible with a too-small buffer: a bug
  return n;
}

Status zstd_decompress_with_prefix(ByteSpan input, ByteSpan prefix, size_t raw_size, Bytes& out) {
  size_t start = out.size();
  out.resize(start + raw_size);
  ZSTD_DCtx* d = thread_dctx();
  ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters);
  ZSTD_DCtx_refPrefix(d, prefix.data(), prefix.size());
  size_t n = ZSTD_decompressDCtx(d, out.data() + start, raw_size, input.data(), input.size());
  ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters);
  return check_decompressed(n, raw_size, out, start);
}

Status zstd_decompress(ByteSpan input, size_t raw_size, Bytes& out) {
  size_t start = out.size();
  out.resize(start + raw_size);
  size_t n = ZSTD_decompressDCtx(thread_dctx(), out.data() + start, raw_size, input.data(), input.size());
  return check_decompressed(n, raw_size, out, start);
}

}  // namespace lifeboat::compress
