#include "ops/redis_restore.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "ops/snapshot_builder.h"
#include "unit/ops_fixture.h"
#include "unit/test_util.h"
#include "util/posix_error.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::OpsTest;
using lifeboat::testing::read_file;
using lifeboat::testing::write_file;

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

class RedisRestore : public OpsTest {
 protected:
  // A "redis" snapshot as redis_backup writes one.
  repo::Snapshot snapshot(bool with_aof, const std::string& kind = "redis") {
    auto b = SnapshotBuilder::begin(*repo_, ctx_);
    EXPECT_TRUE(b.is_ok()) << b.status().message();
    EntryMeta meta;
    EXPECT_TRUE((*b)->add_bytes("dump.rdb", as_bytes(rdb_), meta).is_ok());
    if (with_aof) {
      EXPECT_TRUE((*b)->add_bytes("appendonlydir/appendonly.aof.1.base.rdb", as_bytes("BASE"), meta).is_ok());
      EXPECT_TRUE((*b)->add_bytes("appendonlydir/appendonly.aof.1.incr.aof", as_bytes("*1\r\n$4\r\nPING\r\n"), meta)
                      .is_ok());
      EXPECT_TRUE((*b)->add_bytes("appendonlydir/appendonly.aof.manifest", as_bytes(manifest_), meta).is_ok());
    }
    SnapshotInfo info;
    info.kind = kind;
    info.paths = {"redis://127.0.0.1:6379"};
    info.source_json = with_aof ? R"({"aof":{"enabled":true,"stored":true,"appendfilename":"appendonly.aof"}})"
                                : "{}";
    auto s = (*b)->commit(info);
    EXPECT_TRUE(s.is_ok()) << s.status().message();
    return *s;
  }
  RedisRestoreOptions options(const std::string& dir) {
    RedisRestoreOptions o;
    o.dir = dir;
    return o;
  }
  std::string rdb_ = "REDIS0010 pretend rdb bytes";
  std::string manifest_ =
      "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";
};

TEST_F(RedisRestore, WritesDumpRdbAndTheAofDirectory) {
  auto snap = snapshot(true);
  std::string d = dir_ / "redis";
  auto r = redis_restore(*repo_, snap, options(d), ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(read_file(d + "/dump.rdb"), rdb_);
  EXPECT_EQ(read_file(d + "/appendonlydir/appendonly.aof.manifest"), manifest_);
  EXPECT_EQ(read_file(d + "/appendonlydir/appendonly.aof.1.base.rdb"), "BASE");
  EXPECT_TRUE(r->aof);
  EXPECT_EQ(r->written.size(), 4u);
  EXPECT_EQ(r->start_command, "redis-server --dir " + d +
                                  " --dbfilename dump.rdb --appendonly yes --appenddirname appendonlydir "
                                  "--appendfilename appendonly.aof");
  // No temporary names are left behind.
  EXPECT_FALSE(exists(d + "/dump.rdb.lifeboat-tmp-" + std::to_string(::getpid())));
}

TEST_F(RedisRestore, NoAofWritesDumpRdbOnly) {
  auto snap = snapshot(true);
  std::string d = dir_ / "redis";
  auto o = options(d);
  o.aof = false;
  auto r = redis_restore(*repo_, snap, o, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_TRUE(exists(d + "/dump.rdb"));
  EXPECT_FALSE(exists(d + "/appendonlydir"));
  EXPECT_EQ(r->start_command, "redis-server --dir " + d + " --dbfilename dump.rdb --appendonly no");
}

TEST_F(RedisRestore, RefusesAnOccupiedDirectoryAndWritesNothing) {
  auto snap = snapshot(true);
  std::string d = dir_ / "redis";
  ASSERT_TRUE(make_dirs(d).is_ok());
  write_file(d + "/appendonly.aof", "old single-file AOF");
  auto r = redis_restore(*repo_, snap, options(d), ctx_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(r.status().message().find("appendonly.aof already exists"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("--force"), std::string::npos);
  EXPECT_FALSE(exists(d + "/dump.rdb"));
  EXPECT_FALSE(exists(d + "/appendonlydir"));

  // --force: a stale AOF a server would load instead of dump.rdb goes.
  auto o = options(d);
  o.force = true;
  r = redis_restore(*repo_, snap, o, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_FALSE(exists(d + "/appendonly.aof"));
  EXPECT_EQ(r->removed, std::vector<std::string>{d + "/appendonly.aof"});
  EXPECT_EQ(read_file(d + "/dump.rdb"), rdb_);
}

TEST_F(RedisRestore, ForceReplacesAnAofDirectory) {
  auto snap = snapshot(true);
  std::string d = dir_ / "redis";
  ASSERT_TRUE(make_dirs(d + "/appendonlydir").is_ok());
  write_file(d + "/appendonlydir/appendonly.aof.7.incr.aof", "stale");
  write_file(d + "/dump.rdb", "old");
  auto o = options(d);
  o.force = true;
  auto r = redis_restore(*repo_, snap, o, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_FALSE(exists(d + "/appendonlydir/appendonly.aof.7.incr.aof"));
  EXPECT_TRUE(exists(d + "/appendonlydir/appendonly.aof.1.incr.aof"));
  EXPECT_EQ(read_file(d + "/dump.rdb"), rdb_);
}

TEST_F(RedisRestore, RefusesAnotherKind) {
  auto snap = snapshot(false, "mysql-dump");
  auto r = redis_restore(*repo_, snap, options(dir_ / "redis"), ctx_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("not a Redis one"), std::string::npos);
  EXPECT_FALSE(exists(dir_ / "redis"));
}

}  // namespace
}  // namespace lifeboat::ops
