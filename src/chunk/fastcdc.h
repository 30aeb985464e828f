// FastCDC content-defined chunking (Xia et al., USENIX ATC 2016): a gear
// rolling hash, cut-point skipping below the minimum size and normalized
// chunking (a stricter mask before the average size, a looser one after).
//
// The gear table is derived from the repository's secret (repo/keys), so the
// cut points do not reveal known content. Cut points are part of the format:
// golden tests pin them, and they change only with the format version.
#pragma once

#include <array>
#include <cstdint>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::chunk {

struct ChunkerParams {
  uint32_t min_size = 512 * 1024;
  uint32_t avg_size = 1024 * 1024;  // a power of two
  uint32_t max_size = 8 * 1024 * 1024;
  uint32_t normalization = 2;  // mask bits added before / removed after avg_size

  bool operator==(const ChunkerParams&) const = default;
};

// Rejects sizes that are not 64 B <= min < avg < max <= 64 MiB with avg a
// power of two, and normalization > 4.
Status validate(const ChunkerParams& params);

using GearTable = std::array<uint64_t, 256>;

class FastCdc {
 public:
  FastCdc(const GearTable& gear, const ChunkerParams& params);

  // Returns the length of the chunk that starts at data[0]. `data` must hold
  // at least max_size bytes unless it is the rest of the input (then the
  // whole remainder is a valid answer). Thread-safe.
  size_t cut(ByteSpan data) const;

  const ChunkerParams& params() const { return params_; }

 private:
  GearTable gear_;
  ChunkerParams params_;
  uint64_t mask_small_;  // used before avg_size: more bits, cuts less likely
  uint64_t mask_large_;  // used after avg_size: fewer bits
};

}  // namespace lifeboat::chunk
