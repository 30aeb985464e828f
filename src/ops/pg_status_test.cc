#include "ops/pg_status.h"

#include <gtest/gtest.h>

namespace lifeboat::ops {
namespace {

const uint64_t kSeg = 16 << 20;

TEST(WalGaps, ContiguousChainsHaveNone) {
  EXPECT_TRUE(wal_gaps({"000000010000000000000001", "000000010000000000000002", "000000010000000000000003"}, kSeg)
                  .empty());
  // Across a "log" boundary (..FF -> next log 00).
  EXPECT_TRUE(wal_gaps({"0000000100000000000000FF", "000000010000000100000000"}, kSeg).empty());
  // A new timeline starts where it starts.
  EXPECT_TRUE(wal_gaps({"000000010000000000000001", "000000010000000000000002", "000000020000000000000002",
                        "000000020000000000000003", "00000002.history"},
                       kSeg)
                  .empty());
}

TEST(WalGaps, MissingSegmentsAreNamed) {
  auto g = wal_gaps({"000000010000000000000001", "000000010000000000000004", "000000010000000000000006"}, kSeg);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0], "000000010000000000000002 .. 000000010000000000000003 missing (2 segments)");
  EXPECT_EQ(g[1], "000000010000000000000005 missing");
  // The base backup's first segment itself is missing.
  auto s = wal_gaps({"000000010000000000000003"}, kSeg, "000000010000000000000002");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], "000000010000000000000002 missing");
}

}  // namespace
}  // namespace lifeboat::ops
