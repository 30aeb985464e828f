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

Status zstd_decompress(ByteSpan input, size_t raw_size, Bytes& out) {
  size_t start = out.size();
  out.resize(start + raw_size);
  size_t n = ZSTD_decompressDCtx(thread_dctx(), out.data() + start, raw_size, input.data(), input.size());
  if (ZSTD_isError(n) || n != raw_size) {
    out.resize(start);
    return Status(ErrorCode::kCorrupt,
                  ZSTD_isError(n) ? fmt::format("zstd: {}", ZSTD_getErrorName(n))
                                  : fmt::format("zstd: decompressed to {} bytes, expected {}", n, raw_size));
  }
  return Status::ok();
}

}  // namespace lifeboat::compress
