// verify_redis against a real redis-server (skipped where none is
// installed), on snapshots made here: an RDB the server refuses, and one
// whose recorded counts do not match what it holds.
#include <dirent.h>

#include <gtest/gtest.h>

#include "ops/snapshot_builder.h"
#include "ops/verify_restore.h"
#include "sources/redis/scratch_redis.h"
#include "unit/ops_fixture.h"
#include "util/posix_error.h"
#include "util/subprocess.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::OpsTest;

// An empty RDB of version 10 (Redis 7.0): header, EOF, checksum 0
// (Redis skips checking a zero checksum).
std::string empty_rdb(const std::string& version = "0010") {
  std::string s = "REDIS" + version;
  s.push_back(static_cast<char>(0xFF));
  s.append(8, '\0');
  return s;
}

size_t entries(const std::string& dir) {
  size_t n = 0;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  while (auto* e = ::readdir(d))
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
  ::closedir(d);
  return n;
}

class VerifyRedis : public OpsTest {
 protected:
  void SetUp() override {
    if (find_program("redis-server").empty()) GTEST_SKIP() << "redis-server is not installed";
    OpsTest::SetUp();
    ASSERT_TRUE(make_dirs(scratch_).is_ok());
  }
  repo::Snapshot snapshot(const std::string& rdb, const std::string& source_json) {
    auto b = SnapshotBuilder::begin(*repo_, ctx_);
    EXPECT_TRUE(b.is_ok()) << b.status().message();
    EXPECT_TRUE((*b)->add_bytes("dump.rdb", as_bytes(rdb), EntryMeta{}).is_ok());
    SnapshotInfo info;
    info.kind = "redis";
    info.source_json = source_json;
    auto s = (*b)->commit(info);
    EXPECT_TRUE(s.is_ok()) << s.status().message();
    return *s;
  }
  VerifyOptions options() {
    VerifyOptions o;
    o.scratch_root = scratch_;
    return o;
  }
  std::string scratch_ = dir_ / "scratch";
};

TEST_F(VerifyRedis, AnEmptyDatasetPassesWithAssertions) {
  auto snap = snapshot(empty_rdb(), R"({"keys":{},"expires":{}})");
  auto o = options();
  o.assertions = {{"DBSIZE", "=0"}, {"PING", "PONG"}};
  std::vector<std::string> seen;
  o.on_step = [&](const VerifyStep& s) { seen.push_back(s.name); };
  auto r = verify_restore(*repo_, snap, o, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  for (const auto& s : r->steps) EXPECT_TRUE(s.passed) << s.name << ": " << s.detail;
  EXPECT_TRUE(r->passed());
  EXPECT_EQ(seen, (std::vector<std::string>{"restore", "start", "counts", "assert: DBSIZE", "assert: PING", "stop"}));
  EXPECT_EQ(entries(scratch_), 0u);
}

TEST_F(VerifyRedis, CountsThatDifferFail) {
  auto snap = snapshot(empty_rdb(), R"({"keys":{"db0":3},"expires":{"db0":1}})");
  auto r = verify_restore(*repo_, snap, options(), ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_FALSE(r->passed());
  ASSERT_GE(r->steps.size(), 3u);
  EXPECT_EQ(r->steps[2].name, "counts");
  EXPECT_FALSE(r->steps[2].passed);
  EXPECT_NE(r->steps[2].detail.find("db0 0 keys (backup: 3, 1 with a TTL)"), std::string::npos) << r->steps[2].detail;
  EXPECT_TRUE(r->steps.back().passed);  // stop
}

TEST_F(VerifyRedis, AnRdbTheServerRefusesFailsTheStartStep) {
  auto snap = snapshot(empty_rdb("0099"), R"({"keys":{},"expires":{}})");
  auto o = options();
  o.assertions = {{"DBSIZE", "=0"}};
  auto r = verify_restore(*repo_, snap, o, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_FALSE(r->passed());
  ASSERT_EQ(r->steps.size(), 2u);  // restore, start: nothing runs on a server that is not there
  EXPECT_TRUE(r->steps[0].passed);
  EXPECT_FALSE(r->steps[1].passed);
  EXPECT_NE(r->steps[1].detail.find("RDB format version 99"), std::string::npos) << r->steps[1].detail;
  EXPECT_EQ(entries(scratch_), 0u);
}

TEST(RedisLog, LastErrorSkipsStartupChatter) {
  std::string log =
      "1:C 22 Nov 2026 08:27:43.214 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo\n"
      "1:M 22 Nov 2026 08:27:43.214 # Server initialized\n"
      "1:M 22 Nov 2026 08:27:43.214 # WARNING Memory overcommit must be enabled!\n"
      "1:M 22 Nov 2026 08:27:43.215 # Can't handle RDB format version 99\n"
      "1:M 22 Nov 2026 08:27:43.215 # Fatal error loading the DB: Invalid argument. Exiting.\n";
  EXPECT_EQ(sources::redis::last_redis_log_error(log),
            "Can't handle RDB format version 99; Fatal error loading the DB: Invalid argument. Exiting.");
  EXPECT_EQ(sources::redis::last_redis_log_error("1:M * Ready to accept connections\n"), "");
}

}  // namespace
}  // namespace lifeboat::ops
