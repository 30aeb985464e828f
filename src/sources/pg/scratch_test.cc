#include "sources/pg/scratch.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "sources/pg/dump_session.h"
#include "unit/test_util.h"

namespace lifeboat::sources::pg {
namespace {

// These start a real server: skipped where PostgreSQL is not installed.
bool have_server() { return find_server("", 0).is_ok(); }

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

TEST(ScratchPg, StartsAnswersAndRemovesItself) {
  if (!have_server()) GTEST_SKIP() << "no PostgreSQL server installed";
  std::string dir;
  {
    auto pg = ScratchPg::create({});
    ASSERT_TRUE(pg.is_ok()) << pg.status().to_string();
    dir = (*pg)->dir();
    ASSERT_TRUE(exists((*pg)->data_dir() + "/PG_VERSION"));
    ASSERT_TRUE((*pg)->start().is_ok()) << (*pg)->log_tail();
    auto s = PgSession::connect((*pg)->conninfo("postgres"));
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    auto v = (*s)->scalar("SELECT 6 * 7");
    ASSERT_TRUE(v.is_ok());
    EXPECT_EQ(v->value_or(""), "42");
    EXPECT_EQ((*s)->scalar("SHOW listen_addresses")->value_or("?"), "");  // the socket only
    s->reset();
    EXPECT_TRUE((*pg)->stop().is_ok());
    EXPECT_FALSE(exists(dir));
  }
  EXPECT_FALSE(exists(dir));
}

TEST(ScratchPg, TcpOnAFreePortAndCleanupWithoutStop) {
  if (!have_server()) GTEST_SKIP() << "no PostgreSQL server installed";
  ScratchOptions o;
  o.tcp = true;
  o.conf_lines = {"max_connections = 7"};
  std::string dir;
  {
    auto pg = ScratchPg::create(o);
    ASSERT_TRUE(pg.is_ok()) << pg.status().to_string();
    dir = (*pg)->dir();
    ASSERT_TRUE((*pg)->start().is_ok()) << (*pg)->log_tail();
    EXPECT_GT((*pg)->port(), 0);
    auto s = PgSession::connect((*pg)->tcp_conninfo("postgres"));
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    EXPECT_EQ((*s)->scalar("SHOW max_connections")->value_or(""), "7");
  }  // the destructor stops the server and removes it
  EXPECT_FALSE(exists(dir));
}

TEST(ScratchPg, ANewerServerThanInstalledIsAClearError) {
  if (!have_server()) GTEST_SKIP() << "no PostgreSQL server installed";
  auto r = find_server("", 99);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.status().message().find("install PostgreSQL 99 or newer"), std::string::npos) << r.status().message();
  auto none = find_server("/nonexistent", 0);
  ASSERT_FALSE(none.is_ok());
  EXPECT_NE(none.status().message().find("/nonexistent"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::sources::pg
