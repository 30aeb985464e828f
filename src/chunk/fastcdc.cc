#include "chunk/fastcdc.h"

#include <bit>

#include <fmt/format.h>

namespace lifeboat::chunk {
namespace {

// The top `bits` bits: with a left-shifting gear hash the high bits depend
// on the most bytes (up to 64), which gives the widest window.
uint64_t top_mask(unsigned bits) { return bits == 0 ? 0 : ~uint64_t{0} << (64 - bits); }

}  // namespace

Status validate(const ChunkerParams& p) {
  if (p.min_size < 64 || p.min_size >= p.avg_size || p.avg_size >= p.max_size || p.max_size > (64u << 20) ||
      !std::has_single_bit(p.avg_size) || p.normalization > 4)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("invalid chunker parameters min={} avg={} max={} normalization={}", p.min_size,
                              p.avg_size, p.max_size, p.normalization));
  return Status::ok();
}

FastCdc::FastCdc(const GearTable& gear, const ChunkerParams& params) : gear_(gear), params_(params) {
  unsigned bits = static_cast<unsigned>(std::countr_zero(params.avg_size));
  mask_small_ = top_mask(bits + params.normalization);
  mask_large_ = top_mask(bits - params.normalization);
}

size_t FastCdc::cut(ByteSpan data) const {
  size_t n = std::min<size_t>(data.size(), params_.max_size);
  if (n <= params_.min_size) return n;
  size_t center = std::min<size_t>(n, params_.avg_size);
  const uint8_t* p = data.data();
  uint64_t hash = 0;
  size_t i = params_.min_size;
  for (; i < center; ++i) {
    hash = (hash << 1) + gear_[p[i]];
    if ((hash & mask_small_) == 0) return i + 1;
  }
  for (; i < n; ++i) {
    hash = (hash << 1) + gear_[p[i]];
    if ((hash & mask_large_) == 0) return i + 1;
  }
  return n;
}

}  // namespace lifeboat::chunk
