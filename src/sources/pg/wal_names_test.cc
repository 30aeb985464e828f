#include "sources/pg/wal_names.h"

#include <gtest/gtest.h>

namespace lifeboat::sources::pg {
namespace {

TEST(WalNames, ParsesEveryKindAndRejectsTheRest) {
  auto s = parse_wal_name("0000000200000001000000FE");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, WalKind::kSegment);
  EXPECT_EQ(s->timeline, 2u);
  EXPECT_EQ(s->log, 1u);
  EXPECT_EQ(s->seg, 0xFEu);
  EXPECT_EQ(parse_wal_name("00000003.history")->kind, WalKind::kHistory);
  EXPECT_EQ(parse_wal_name("000000010000000000000002.00000028.backup")->kind, WalKind::kBackup);
  EXPECT_EQ(parse_wal_name("000000010000000000000002.partial")->kind, WalKind::kPartial);
  for (const char* bad : {"", "..", "RECOVERYXLOG", "000000010000000000000002x", "0000000100000000000000g2",
                          "000000010000000000000002.00000028.backupx", "../00000001000000000000000A",
                          "00000001000000000000000a"})
    EXPECT_FALSE(parse_wal_name(bad)) << bad;
}

TEST(WalNames, SegmentNumbersAndLsns) {
  const uint64_t seg = 16 << 20;
  EXPECT_EQ(segments_per_log(seg), 256u);
  auto n = parse_wal_name("000000010000000100000003");
  EXPECT_EQ(segno_of(*n, seg), 256u + 3);
  EXPECT_EQ(segment_name(1, 259, seg), "000000010000000100000003");
  auto lsn = parse_lsn("16/B374D848");
  ASSERT_TRUE(lsn);
  EXPECT_EQ(*lsn, 0x16B374D848ull);
  EXPECT_EQ(format_lsn(*lsn), "16/B374D848");
  EXPECT_EQ(segment_name(1, segno_for_lsn(*lsn, seg), seg), "0000000100000016000000B3");
  EXPECT_FALSE(parse_lsn("nonsense"));
  EXPECT_FALSE(parse_lsn("/1"));
  EXPECT_FALSE(parse_lsn("1/"));
  EXPECT_FALSE(parse_lsn("123456789/0"));
}

TEST(WalNames, SegmentHeader) {
  uint8_t page[64] = {};
  auto put = [&](size_t o, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) page[o + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  put(0, 0xD110, 2);        // magic (PostgreSQL 15)
  put(2, 0x0002, 2);        // XLP_LONG_HEADER
  put(4, 1, 4);             // timeline
  put(8, 0x3000000, 8);     // page address
  put(24, 7710908090109871979ull, 8);
  put(32, 16 << 20, 4);
  put(36, 8192, 4);
  auto h = read_segment_header(ByteSpan(page, sizeof page));
  ASSERT_TRUE(h.is_ok()) << h.status().message();
  EXPECT_EQ(h->system_id, 7710908090109871979ull);
  EXPECT_EQ(h->seg_size, 16u << 20);
  page[2] = 0;  // not a long header
  EXPECT_EQ(read_segment_header(ByteSpan(page, sizeof page)).status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(read_segment_header(ByteSpan(page, 10)).status().code(), ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace lifeboat::sources::pg
