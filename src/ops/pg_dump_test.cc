#include "ops/pg_dump.h"

#include <gtest/gtest.h>

#include "ops/pg_dump_restore.h"
#include "unit/test_util.h"

namespace lifeboat::ops {
namespace {

PgDumpSource sample() {
  PgDumpSource s;
  s.database = "app";
  s.server_version = "15.5";
  s.server_version_num = 150005;
  s.pg_dump_version = "15.5";
  s.format = "custom";
  s.path = "/app.dump";
  s.where = "127.0.0.1:5432";
  s.tables = {{"public", "orders", 500}, {"public", "users", 1000}, {"sales", "users", 3}};
  return s;
}

TEST(PgDumpSource, JsonRoundTrip) {
  PgDumpSource s = sample();
  auto back = PgDumpSource::from_json(s.to_json());
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->database, "app");
  EXPECT_EQ(back->server_version_num, 150005);
  EXPECT_EQ(back->path, "/app.dump");
  ASSERT_EQ(back->tables.size(), 3u);
  EXPECT_EQ(back->tables[1].qualified(), "public.users");
  EXPECT_EQ(back->tables[1].rows, 1000u);
  EXPECT_EQ(back->total_rows(), 1503u);
}

TEST(PgDumpSource, RejectsJunk) {
  EXPECT_EQ(PgDumpSource::from_json("not json").status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(PgDumpSource::from_json("{}").status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(PgDumpSource::from_json(R"({"path":"/a.dump","tables":[{"rows":"x"}]})").status().code(),
            ErrorCode::kCorrupt);
}

TEST(DumpEntryName, IsAPlainName) {
  EXPECT_EQ(dump_entry_name("app"), "app");
  EXPECT_EQ(dump_entry_name("a/b"), "a_b");
  EXPECT_EQ(dump_entry_name(".."), "_..");
  EXPECT_EQ(dump_entry_name(""), "postgres");
}

TEST(ResolveDumpTable, ByNameOrQualified) {
  PgDumpSource s = sample();
  auto t = resolve_dump_table(s, "orders", "abcd");
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(t->qualified(), "public.orders");
  t = resolve_dump_table(s, "sales.users", "abcd");
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(t->rows, 3u);
  t = resolve_dump_table(s, "users", "abcd");
  ASSERT_FALSE(t.is_ok());
  EXPECT_EQ(t.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("public.users, sales.users"), std::string::npos);
  t = resolve_dump_table(s, "nope", "abcd");
  ASSERT_FALSE(t.is_ok());
  EXPECT_EQ(t.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(t.status().message(),
            "table \"nope\" is not in the dump of database \"app\" (snapshot abcd): it has public.orders, "
            "public.users, sales.users");
}

TEST(SelectTocEntries, ExactlyTheTablesAskedFor) {
  std::string listing =
      ";\n; Archive created at 2024-01-15 14:30:00 UTC\n;\n"
      "6; 2615 16385 SCHEMA - sales postgres\n"
      "215; 1259 16386 TABLE public orders postgres\n"
      "216; 1259 16390 TABLE public orders_archive postgres\n"
      "217; 1259 16395 TABLE sales orders postgres\n"
      "218; 1259 16399 SEQUENCE public orders_id_seq postgres\n"
      "3330; 0 16386 TABLE DATA public orders postgres\n"
      "3331; 0 16390 TABLE DATA public orders_archive postgres\n"
      "3332; 0 16395 TABLE DATA sales orders postgres\n"
      "3180; 2606 16404 CONSTRAINT public orders orders_pkey postgres\n";
  std::vector<PgDumpTable> want = {{"public", "orders", 0}};
  EXPECT_EQ(select_toc_entries(listing, want, false),
            "215; 1259 16386 TABLE public orders postgres\n3330; 0 16386 TABLE DATA public orders postgres\n");
  EXPECT_EQ(select_toc_entries(listing, want, true), "3330; 0 16386 TABLE DATA public orders postgres\n");
  EXPECT_EQ(select_toc_entries(listing, {{"public", "nope", 0}}, false), "");
  EXPECT_EQ(select_toc_entries(listing, {{"sales", "orders", 0}}, false, {"sales"}),
            "6; 2615 16385 SCHEMA - sales postgres\n217; 1259 16395 TABLE sales orders postgres\n"
            "3332; 0 16395 TABLE DATA sales orders postgres\n");
}

}  // namespace
}  // namespace lifeboat::ops
