// A fixture for ops tests: a temporary directory with a sample source tree
// and a repository on local disk (cheap KDF, small chunks and packs).
//
// The repository clock runs an hour ahead of the system clock, so files the
// test just wrote are not "modified within a second of the backup's start"
// and the files cache takes them (no sleeping to age them).
#pragma once

#include <unistd.h>

#include <set>
#include <stdexcept>

#include <gtest/gtest.h>

#include "ops/backup.h"
#include "ops/check.h"
#include "ops/context.h"
#include "ops/restore.h"
#include "repo/repository.h"
#include "unit/fs_helpers.h"
#include "unit/repo_helpers.h"
#include "unit/test_util.h"

namespace lifeboat::testing {

class OpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    make_sample_tree(src_);
    auto r = repo::Repository::create(dir_ / "repo", "pw", small_options(), clock_);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    repo_ = std::move(*r);
    ctx_.hostname = "test-host";
    ctx_.username = "tester";
    ctx_.uid = ::getuid();
    ctx_.gid = ::getgid();
    ctx_.pid = ::getpid();
    ctx_.is_root = ::getuid() == 0;
  }

  ops::BackupOptions backup_options() {
    ops::BackupOptions o;
    o.paths = {src_};
    o.cache_root = dir_ / "cache";
    o.workers = 2;
    return o;
  }

  // Runs a backup and moves the clock on by a minute, so snapshots differ in time.
  ops::BackupResult backup(const ops::BackupOptions& o) {
    auto r = ops::backup(*repo_, o, ctx_);
    clock_.advance(60 * kNanosPerSecond);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    if (!r.is_ok()) throw std::runtime_error("backup failed: " + r.status().message());
    EXPECT_EQ(r->warnings, std::vector<std::string>{});
    return std::move(*r);
  }
  ops::BackupResult backup() { return backup(backup_options()); }

  // Where `path` of the snapshot lands under a restore target.
  std::string restored(const std::string& target, const std::string& path) { return target + path; }

  // check --read-data of `repo`.
  ops::CheckResult check_all(repo::Repository& repo) {
    ops::CheckOptions o;
    o.read_data = true;
    o.workers = 2;
    auto r = ops::check(repo, o, ctx_);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    return r.is_ok() ? *r : ops::CheckResult{};
  }
  void expect_clean(repo::Repository& repo) {
    auto c = check_all(repo);
    EXPECT_TRUE(c.ok()) << (c.errors.empty() ? "" : c.errors.front());
  }

  // Restores `snap` from `repo` (index loaded here) into a fresh target and
  // returns what the source's part of it holds (tree_contents()).
  std::map<std::string, std::string> restore_contents(repo::Repository& repo, const repo::Snapshot& snap) {
    EXPECT_TRUE(repo.load_index().is_ok());
    std::string target = dir_ / ("restore-" + std::to_string(++restores_) + "-" + snap.id.short_hex());
    ops::RestoreOptions o;
    o.target = target;
    auto r = ops::restore(repo, snap, o, ctx_);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    return tree_contents(restored(target, src_));
  }

  // The source has a directory of its own: the repository, cache and
  // restore targets live elsewhere, so writing them does not change the
  // source's parent directory between backups.
  TempDir source_dir_;
  TempDir dir_;
  std::string src_ = source_dir_ / "src";
  FakeClock clock_{SystemClock::instance().now_ns() + 3600 * kNanosPerSecond};
  std::unique_ptr<repo::Repository> repo_;
  ops::OpContext ctx_;
  int restores_ = 0;
};

// OpsTest on a repository with the real KDF, which open() accepts (it
// refuses the fixture's weak test one), for tests that reopen it as another
// process would.
class ReopenableOpsTest : public OpsTest {
 protected:
  void SetUp() override {
    OpsTest::SetUp();
    repo::CreateOptions o = small_options();
    o.kdf = crypto::ScryptParams{};
    auto r = repo::Repository::create(dir_ / "real", "pw", o, clock_);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    repo_ = std::move(*r);
  }
  // The ids of the packs on storage.
  static std::set<repo::Id> pack_ids(repo::Repository& repo) {
    auto packs = repo.list_packs();  // kept alive for the loop
    if (!packs.is_ok()) throw std::runtime_error(packs.status().message());
    std::set<repo::Id> out;
    for (const auto& p : *packs) out.insert(p.id);
    return out;
  }
  // The envelope epoch of object `name` as stored (for a pack: its first blob's).
  uint32_t stored_epoch(const std::string& name) {
    std::string bytes = read_file(dir_ / ("real/" + name));
    auto epoch = repo::envelope_epoch(as_bytes(bytes));
    if (!epoch) throw std::runtime_error("short object " + name);
    return *epoch;
  }
  // A repository opened afresh, as the CLI would (the fixture's has the
  // index loaded in memory already).
  std::unique_ptr<repo::Repository> reopen() {
    auto r = repo::Repository::open(dir_ / "real", "pw", clock_);
    if (!r.is_ok()) throw std::runtime_error(r.status().message());
    return std::move(*r);
  }
};

}  // namespace lifeboat::testing
