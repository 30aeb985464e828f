#include "chunk/fastcdc.h"

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "unit/test_util.h"

namespace lifeboat::chunk {
namespace {

using lifeboat::testing::SplitMix64;
using lifeboat::testing::splitmix_bytes;

GearTable splitmix_gear(uint64_t seed) {
  SplitMix64 rng(seed);
  GearTable t;
  for (auto& g : t) g = rng.next();
  return t;
}

// Small sizes so a test covers many chunks quickly.
constexpr ChunkerParams kSmall{4096, 16384, 65536, 2};
constexpr uint64_t kGearSeed = 0x6c696665626f6174;  // "lifeboat"

std::vector<size_t> cut_all(const FastCdc& cdc, ByteSpan data) {
  std::vector<size_t> ends;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = cdc.cut(data.subspan(pos));
    EXPECT_GT(n, 0u);
    if (n == 0) break;
    pos += n;
    ends.push_back(pos);
  }
  return ends;
}

TEST(ChunkerParams, DefaultsAreValid) {
  EXPECT_TRUE(validate(ChunkerParams{}).is_ok());
  EXPECT_TRUE(validate(kSmall).is_ok());
  EXPECT_TRUE(validate({64, 128, 129, 0}).is_ok());
  EXPECT_TRUE(validate({64, 128, 64u << 20, 4}).is_ok());
}

TEST(ChunkerParams, ValidateRejectsBadParams) {
  const ChunkerParams bad[] = {
      {32, 1024, 4096, 2},           // min below 64 bytes
      {1024, 1024, 4096, 2},         // min == avg
      {2048, 1024, 4096, 2},         // min > avg
      {512, 4096, 4096, 2},          // avg == max
      {512, 1000, 4096, 2},          // avg not a power of two
      {512, 1024, (64u << 20) + 1, 2},  // max above 64 MiB
      {512, 1024, 4096, 5},          // normalization > 4
  };
  for (const auto& p : bad) {
    Status s = validate(p);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << p.min_size << " " << p.avg_size << " " << p.max_size;
    EXPECT_EQ(s.message(), "invalid chunker parameters min=" + std::to_string(p.min_size) +
                               " avg=" + std::to_string(p.avg_size) + " max=" + std::to_string(p.max_size) +
                               " normalization=" + std::to_string(p.normalization));
  }
}

// Chunker stability: cut points are part of the repository format. The
// gear table and data are SplitMix64 streams, and the expected cut points
// were computed by an independent Python implementation of the algorithm
// in docs/FORMAT.md. They change only with the format version.
TEST(FastCdc, ChunkerStabilityGolden) {
  GearTable gear = splitmix_gear(kGearSeed);
  ASSERT_EQ(gear[0], 0xf4e42269847b639cULL);
  ASSERT_EQ(gear[255], 0xff4bc5876b958206ULL);
  FastCdc cdc(gear, kSmall);
  Bytes data = splitmix_bytes(42, 512 * 1024);
  const std::vector<size_t> expected = {
      20329,  41014,  51290,  73830,  90616,  107807, 128346, 147554, 154874, 179381,
      199674, 217879, 234106, 257344, 273926, 294527, 302156, 324712, 351788, 357787,
      376385, 391689, 408376, 415917, 436831, 442580, 467661, 486950, 518744, 524288};
  EXPECT_EQ(cut_all(cdc, data), expected);
}

TEST(FastCdc, CutIsWithinMinAndMaxExceptAtTheEnd) {
  uint64_t seed = lifeboat::testing::test_seed();
  SCOPED_TRACE(lifeboat::testing::seed_trace(seed));
  FastCdc cdc(splitmix_gear(seed ^ 1), kSmall);
  Bytes data = splitmix_bytes(seed, 1 << 20);
  size_t pos = 0;
  while (pos < data.size()) {
    size_t rest = data.size() - pos;
    size_t n = cdc.cut(ByteSpan(data).subspan(pos));
    if (rest > kSmall.min_size) {
      ASSERT_GT(n, kSmall.min_size) << "at " << pos;  // the first candidate is min_size + 1
    } else {
      ASSERT_EQ(n, rest) << "at " << pos;
    }
    ASSERT_LE(n, kSmall.max_size) << "at " << pos;
    ASSERT_LE(n, rest);
    pos += n;
  }
}

TEST(FastCdc, ShortInputIsOneChunk) {
  FastCdc cdc(splitmix_gear(kGearSeed), kSmall);
  Bytes data = splitmix_bytes(3, kSmall.min_size);
  EXPECT_EQ(cdc.cut(data), kSmall.min_size);
  EXPECT_EQ(cdc.cut(ByteSpan(data).first(1)), 1u);
  EXPECT_EQ(cdc.cut(ByteSpan()), 0u);
}

// Data without a cut point (all zeros never satisfies the mask here) is cut
// at max_size.
TEST(FastCdc, UniformDataIsCutAtMax) {
  GearTable gear = splitmix_gear(kGearSeed);
  FastCdc cdc(gear, kSmall);
  Bytes zeros(3 * kSmall.max_size, 0);
  auto ends = cut_all(cdc, zeros);
  ASSERT_EQ(ends.size(), 3u);
  EXPECT_EQ(ends[0], kSmall.max_size);
  EXPECT_EQ(ends[1], 2 * kSmall.max_size);
}

TEST(FastCdc, DeterministicAcrossInstances) {
  uint64_t seed = lifeboat::testing::test_seed();
  SCOPED_TRACE(lifeboat::testing::seed_trace(seed));
  Bytes data = splitmix_bytes(seed, 300000);
  GearTable gear = splitmix_gear(seed + 1);
  EXPECT_EQ(cut_all(FastCdc(gear, kSmall), data), cut_all(FastCdc(gear, kSmall), data));
  // Another gear table (another repository key) cuts elsewhere.
  EXPECT_NE(cut_all(FastCdc(gear, kSmall), data), cut_all(FastCdc(splitmix_gear(seed + 2), kSmall), data));
}

// Inserting bytes near the start changes the first chunk(s) only: later
// boundaries re-synchronise, shifted by the insertion. That is what makes
// deduplication of an edited file work.
TEST(FastCdc, InsertionNearStartResynchronises) {
  uint64_t seed = lifeboat::testing::test_seed();
  SCOPED_TRACE(lifeboat::testing::seed_trace(seed));
  FastCdc cdc(splitmix_gear(kGearSeed), kSmall);
  Bytes data = splitmix_bytes(seed, 1 << 20);
  const size_t kInserted = 7;
  Bytes shifted(data.begin(), data.begin() + 100);
  for (size_t i = 0; i < kInserted; ++i) shifted.push_back(static_cast<uint8_t>(0xa5 + i));
  shifted.insert(shifted.end(), data.begin() + 100, data.end());

  auto original = cut_all(cdc, data);
  auto moved = cut_all(cdc, shifted);
  std::set<size_t> moved_back;
  for (size_t e : moved) moved_back.insert(e - kInserted);
  size_t preserved = 0;
  for (size_t e : original)
    if (moved_back.count(e)) preserved++;
  ASSERT_GE(original.size(), 40u);
  EXPECT_GE(preserved, original.size() - 3) << preserved << " of " << original.size() << " boundaries preserved";
  // Once in sync, they stay in sync to the end.
  EXPECT_EQ(original.back() + kInserted, moved.back());
}

// The backup reader cuts a window that may end before max_size. A cut point
// found inside the window must be the one the whole input gives (the hash
// at a position depends only on the bytes before it); if there is none,
// the whole window is returned and the true cut lies beyond it.
TEST(FastCdc, CutInsidePartialBufferIsFinal) {
  uint64_t seed = lifeboat::testing::test_seed();
  SCOPED_TRACE(lifeboat::testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  FastCdc cdc(splitmix_gear(seed ^ 0x55), kSmall);
  Bytes data = splitmix_bytes(seed, 1 << 20);
  size_t checked_inside = 0;
  for (size_t pos = 0; pos + kSmall.max_size < data.size();) {
    ByteSpan full = ByteSpan(data).subspan(pos);
    size_t whole = cdc.cut(full);
    for (int k = 0; k < 20; ++k) {
      size_t len = kSmall.min_size + 1 + rng() % (kSmall.max_size - kSmall.min_size);
      size_t part = cdc.cut(full.first(len));
      if (part < len) {
        ASSERT_EQ(part, whole) << "chunk at " << pos << ", window " << len;
        checked_inside++;
      } else {
        ASSERT_EQ(part, len);
        ASSERT_GE(whole, len) << "chunk at " << pos << ", window " << len;
      }
    }
    pos += whole;
  }
  EXPECT_GT(checked_inside, 100u);
}

}  // namespace
}  // namespace lifeboat::chunk
