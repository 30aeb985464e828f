#include "sources/pg/dump_copy.h"

#include <gtest/gtest.h>

#include "unit/test_util.h"

namespace lifeboat::sources::pg {
namespace {

std::string convert(std::string_view sql, bool header = false, size_t piece = 0) {
  std::string out;
  CopyToCsv c(
      [&](std::string_view d) {
        out.append(d);
        return Status::ok();
      },
      header);
  if (piece == 0) {
    EXPECT_TRUE(c.feed(sql).is_ok());
  } else {
    for (size_t i = 0; i < sql.size(); i += piece) EXPECT_TRUE(c.feed(sql.substr(i, piece)).is_ok());
  }
  Status s = c.finish();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return out;
}

constexpr std::string_view kDump =
    "--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n\n"
    "COPY public.users (id, name, note) FROM stdin;\n"
    "1\tu1\ttab\\there, \"q\"\\nline\n"
    "2\tu2\t\n"
    "3\tu3\t\\N\n"
    "4\t\\\\back\t\\101\\x42\n"
    "\\.\n\n\n--\n-- PostgreSQL database dump complete\n--\n";

TEST(CopyToCsv, WritesWhatCopyCsvWrites) {
  EXPECT_EQ(convert(kDump),
            "1,u1,\"tab\there, \"\"q\"\"\nline\"\n"
            "2,u2,\"\"\n"
            "3,u3,\n"
            "4,\\back,AB\n");
}

TEST(CopyToCsv, SameResultWhateverThePieces) {
  std::string whole = convert(kDump);
  for (size_t piece : {1, 2, 3, 7, 64}) EXPECT_EQ(convert(kDump, false, piece), whole) << piece;
}

TEST(CopyToCsv, HeaderHasTheColumnNames) {
  std::string sql = "COPY s.\"Odd (t)\" (a, \"B, c\", \"x\"\"y\") FROM stdin;\n1\t2\t3\n\\.\n";
  EXPECT_EQ(convert(sql, true), "a,\"B, c\",\"x\"\"y\"\n1,2,3\n");
}

TEST(CopyToCsv, EmptyTableGivesNoRows) {
  std::string out = convert("COPY public.t (a) FROM stdin;\n\\.\n");
  EXPECT_EQ(out, "");
}

TEST(CopyToCsv, SingleColumnQuotesALoneEndMarker) {
  // The value "\." is escaped as "\\." in COPY text.
  EXPECT_EQ(convert("COPY public.t (a) FROM stdin;\n\\\\.\n\\.\n"), "\"\\.\"\n");
}

TEST(CopyToCsv, NoCopyBlockIsAnError) {
  CopyToCsv c([](std::string_view) { return Status::ok(); }, false);
  ASSERT_TRUE(c.feed("SET x = 1;\n").is_ok());
  Status s = c.finish();
  EXPECT_EQ(s.code(), ErrorCode::kCorrupt);
}

TEST(CopyToCsv, TruncatedCopyBlockIsAnError) {
  CopyToCsv c([](std::string_view) { return Status::ok(); }, false);
  ASSERT_TRUE(c.feed("COPY public.t (a) FROM stdin;\n1\n").is_ok());
  EXPECT_EQ(c.finish().code(), ErrorCode::kCorrupt);
}

TEST(CopyToCsv, SinkErrorStopsIt) {
  std::string big = "COPY public.t (a) FROM stdin;\n";
  for (int i = 0; i < 100000; ++i) big += "0123456789\n";
  big += "\\.\n";
  CopyToCsv c([](std::string_view) { return Status(ErrorCode::kNoSpace, "disk full"); }, false);
  Status s = c.feed(big);
  if (s.is_ok()) s = c.finish();
  EXPECT_EQ(s.code(), ErrorCode::kNoSpace);
}

TEST(UnescapeCopyText, NullAndEscapes) {
  std::string v;
  EXPECT_FALSE(unescape_copy_text("\\N", v));
  EXPECT_TRUE(unescape_copy_text("a\\b\\f\\r\\v\\\\z\\x4", v));
  EXPECT_EQ(v, std::string("a\b\f\r\v\\z\x04"));
  EXPECT_TRUE(unescape_copy_text("\\0\\12", v));
  EXPECT_EQ(v, std::string("\0\n", 2));
}

TEST(ParseCopyColumns, QuotedNames) {
  auto cols = parse_copy_columns("public.t (id, \"Name\", \"a,b\", \"q\"\"x\")");
  ASSERT_EQ(cols.size(), 4u);
  EXPECT_EQ(cols[0], "id");
  EXPECT_EQ(cols[1], "Name");
  EXPECT_EQ(cols[2], "a,b");
  EXPECT_EQ(cols[3], "q\"x");
}

}  // namespace
}  // namespace lifeboat::sources::pg
