#include "ops/prune.h"

#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "ops/check.h"
#include "ops/forget.h"
#include "ops/restore.h"
#include "ops/tree_walk.h"
#include "repo/lock.h"
#include "unit/ops_fixture.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::OpsTest;
using lifeboat::testing::splitmix_bytes;
using lifeboat::testing::write_file;

class Prune : public lifeboat::testing::ReopenableOpsTest {
 protected:
  PruneResult prune_ok(const PruneOptions& o = {}) {
    auto fresh = reopen();
    auto r = prune(*fresh, o, ctx_);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    if (!r.is_ok()) throw std::runtime_error(r.status().message());
    return *r;
  }
  void forget_ids(const std::vector<repo::Id>& ids) {
    ForgetOptions o;
    for (const auto& id : ids) o.snapshots.push_back(id.hex());
    auto fresh = reopen();
    auto r = forget(*fresh, o, ctx_);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
  }
  void check_clean() { expect_clean(*reopen()); }
  using Contents = std::map<std::string, std::string>;
  static Contents contents(const std::string& root) { return lifeboat::testing::tree_contents(root); }
  // Restores `snap` and compares it with `expected` (the source's contents then).
  void restores_as(const repo::Snapshot& snap, const Contents& expected) {
    auto fresh = reopen();
    EXPECT_TRUE(restore_contents(*fresh, snap) == expected) << "snapshot " << snap.id.short_hex();
  }
  uint64_t stored_bytes() {
    uint64_t n = 0;
    auto packs = repo_->list_packs();
    for (const auto& p : *packs) n += p.size;
    return n;
  }
  size_t count(const std::string& prefix) { return repo_->list_names(prefix)->size(); }
  std::vector<std::string> all_objects() {
    std::vector<std::string> out;
    for (const char* p : {"data/", "index/", "snapshots/", "condemned/", "keys/", "log/"}) {
      auto names = repo_->list_names(p);
      out.insert(out.end(), names->begin(), names->end());
    }
    return out;
  }
  // A file of unique random data, a few packs' worth.
  void add_unique(const std::string& name, uint64_t seed, size_t size = 300 * 1024) {
    write_file(src_ + "/" + name, as_string_view(splitmix_bytes(seed, size)));
  }
  // Two snapshots, the first forgotten: old.bin's 300 KiB are garbage.
  struct Garbage {
    BackupResult first, second;
    Contents first_contents, second_contents;
  };
  Garbage make_garbage(uint64_t seed) {
    Garbage g;
    add_unique("old.bin", seed);
    g.first = backup();
    g.first_contents = contents(src_);
    std::filesystem::remove(src_ + "/old.bin");
    g.second = backup();
    g.second_contents = contents(src_);
    forget_ids({g.first.snapshot.id});
    return g;
  }
  std::unique_ptr<repo::RepoLock> hold_lock(repo::Repository& repo, const std::string& host, const std::string& op) {
    auto l = repo::RepoLock::acquire(repo, repo::LockKind::kShared, {host, "u", 4242, op});
    if (!l.is_ok()) throw std::runtime_error(l.status().message());
    return std::move(*l);
  }
};

TEST_F(Prune, RemovesWhatOnlyForgottenSnapshotsReferenced) {
  auto g = make_garbage(1);
  uint64_t before = stored_bytes();

  auto r = prune_ok();
  EXPECT_EQ(r.snapshots, 1u);
  EXPECT_GT(r.packs_unused + r.packs_repacked, 0u);
  EXPECT_GT(r.packs_deleted, 0u) << "nothing else ran: deleted in the same run";
  EXPECT_EQ(r.packs_waiting, 0u);
  EXPECT_EQ(count("condemned/"), 0u);
  uint64_t after = stored_bytes();
  EXPECT_LT(after, before - 250 * 1024) << "old.bin's 300 KiB of random data went";
  EXPECT_LE(r.unused_bytes_after, r.used_bytes / 19 + 1) << "within 5%";
  restores_as(g.second.snapshot, g.second_contents);
  check_clean();

  // Again: nothing left to do, and nothing is rewritten.
  auto objects = all_objects();
  auto again = prune_ok();
  EXPECT_EQ(again.packs_unused + again.packs_repacked + again.packs_deleted, 0u);
  auto now = all_objects();
  now.erase(std::remove_if(now.begin(), now.end(), [](const auto& n) { return n.starts_with("log/"); }), now.end());
  objects.erase(std::remove_if(objects.begin(), objects.end(), [](const auto& n) { return n.starts_with("log/"); }),
                objects.end());
  EXPECT_EQ(now, objects);
}

TEST_F(Prune, DryRunChangesNothing) {
  make_garbage(3);
  auto objects = all_objects();
  PruneOptions o;
  o.dry_run = true;
  auto r = prune_ok(o);
  EXPECT_GT(r.bytes_condemned, 250u * 1024);
  EXPECT_EQ(r.packs_written, 0u);
  EXPECT_EQ(all_objects(), objects);
  EXPECT_EQ(count("locks/"), 0u);
}

TEST_F(Prune, MaxUnusedDecidesWhatIsRepacked) {
  // One big file whose chunks share packs with a file that stays.
  add_unique("stays.bin", 4, 100 * 1024);
  add_unique("goes.bin", 5, 40 * 1024);
  auto first = backup();
  std::filesystem::remove(src_ + "/goes.bin");
  auto second = backup();
  Contents copy = contents(src_);
  forget_ids({first.snapshot.id});

  PruneOptions lax;
  lax.max_unused_fraction = 1.0;  // "unlimited"
  auto r1 = prune_ok(lax);
  EXPECT_EQ(r1.packs_repacked, 0u);
  EXPECT_GT(r1.unused_bytes_after, 0u) << "partly used packs were left as they are";

  PruneOptions capped;
  capped.max_unused_fraction = 0.0;
  capped.max_repack_bytes = 1;  // smaller than any pack
  auto r2 = prune_ok(capped);
  EXPECT_EQ(r2.packs_repacked, 0u);

  PruneOptions strict;
  strict.max_unused_fraction = 0.0;
  auto r3 = prune_ok(strict);
  EXPECT_GT(r3.packs_repacked, 0u);
  EXPECT_GT(r3.blobs_repacked, 0u);
  EXPECT_EQ(r3.unused_bytes_after, 0u);
  EXPECT_GT(r3.packs_deleted, 0u);
  restores_as(second.snapshot, copy);
  check_clean();
  auto r4 = prune_ok(strict);
  EXPECT_EQ(r4.unused_bytes, 0u);
}

// The heart of it: a backup that read the index before prune marked packs
// may store a snapshot that references their blobs. The packs stay until
// that backup has ended, reading falls back to them, and the sweep puts the
// blobs back into the index.
TEST_F(Prune, BlobsReferencedByABackupRunningDuringTheMarkAreRescued) {
  auto g = make_garbage(6);
  auto& first = g.first;
  // "A backup" on another host: it holds a shared lock and has read the
  // old index, so it may reference old.bin's blobs.
  auto other = reopen();
  auto lock = hold_lock(*other, "other-host", "backup");
  ASSERT_TRUE(other->load_index().is_ok());
  ASSERT_TRUE(other->index().contains(first.snapshot.tree));

  auto r = prune_ok();
  EXPECT_GT(r.bytes_condemned, 250u * 1024);
  EXPECT_EQ(r.packs_deleted, 0u) << "a backup that read the old index is running";
  EXPECT_GT(r.packs_waiting, 0u);
  ASSERT_EQ(r.waiting_for.size(), 1u);
  EXPECT_NE(r.waiting_for[0].find("backup (PID 4242 on other-host"), std::string::npos) << r.waiting_for[0];
  EXPECT_EQ(count("condemned/"), 1u);

  // Meanwhile a new backup does not adopt the condemned packs, and stores
  // old.bin's data anew rather than reference the doomed copy.
  {
    auto fresh = reopen();
    ASSERT_TRUE(fresh->load_index().is_ok());
    std::vector<repo::Id> old_blobs;
    ASSERT_TRUE(walk_tree(*fresh, first.snapshot.tree, "/",
                          [&](const std::string& path, const repo::Node& n) {
                            if (path.ends_with("/old.bin")) old_blobs = n.content;
                            return Visit::kDescend;
                          })
                    .is_ok());
    ASSERT_FALSE(old_blobs.empty());
    size_t condemned = 0;
    for (const auto& b : old_blobs) {
      if (fresh->index().contains(b)) continue;
      condemned++;
      EXPECT_TRUE(fresh->locate(b).has_value()) << "reading falls back to condemned packs";
    }
    EXPECT_GT(condemned, old_blobs.size() / 2);
    auto adopted = fresh->index_unindexed_packs();
    ASSERT_TRUE(adopted.is_ok());
    EXPECT_EQ(*adopted, 0u);
  }

  // The running backup ends with a snapshot whose tree is old.bin's (the
  // first snapshot's tree: it read that from the old index).
  repo::Snapshot late = first.snapshot;
  late.hostname = "other-host";
  ASSERT_TRUE(other->save_snapshot(late).is_ok());
  restores_as(late, g.first_contents);  // through the condemned packs
  check_clean();
  ASSERT_TRUE(lock->release().is_ok());

  auto sweep = prune_ok();
  EXPECT_GT(sweep.blobs_rescued, 0u);
  EXPECT_EQ(sweep.packs_waiting, 0u);
  EXPECT_EQ(count("condemned/"), 0u);
  restores_as(late, g.first_contents);
  restores_as(g.second.snapshot, g.second_contents);
  check_clean();
}

TEST_F(Prune, SweepWaitsOnlyForTheSessionsItSaw) {
  make_garbage(7);
  auto other = reopen();
  auto seen = hold_lock(*other, "h1", "backup");
  EXPECT_EQ(prune_ok().packs_deleted, 0u);

  // A backup that started after the mark does not hold the sweep back.
  auto later = hold_lock(*other, "h2", "backup");
  EXPECT_EQ(prune_ok().packs_deleted, 0u) << "the backup seen at the mark still runs";
  ASSERT_TRUE(seen->release().is_ok());
  auto swept = prune_ok();
  EXPECT_GT(swept.packs_deleted, 0u);
  EXPECT_EQ(swept.waiting_for, std::vector<std::string>{});
  EXPECT_EQ(count("condemned/"), 0u);
}

TEST_F(Prune, StaleLocksDoNotHoldTheSweep) {
  make_garbage(8);
  auto other = reopen();
  auto seen = hold_lock(*other, "h1", "backup");
  EXPECT_EQ(prune_ok().packs_deleted, 0u);
  clock_.advance(repo::kLockStaleAfterNs + 60 * kNanosPerSecond);  // the other host vanished
  EXPECT_GT(prune_ok().packs_deleted, 0u);
  EXPECT_EQ(seen->verify().code(), ErrorCode::kLocked) << "and that backup may no longer store its snapshot";
}

TEST_F(Prune, AnUnfinishedMarkWaitsUntilNothingElseRuns) {
  make_garbage(9);
  // A prune that died between writing its record and naming the sessions:
  // the packs are out of nothing yet, but the record is there.
  auto packs = repo_->list_packs();
  repo::CondemnedRecord rec;
  rec.time_ns = clock_.now_ns();
  rec.complete = false;
  ASSERT_TRUE(repo_->load_index().is_ok());
  // Condemn an unindexed copy: a pack made for the purpose.
  repo::PackWriter w(repo_->keys(), 3);
  Bytes junk = splitmix_bytes(99, 5000);
  w.add(repo::BlobType::kData, repo_->keys().blob_id(junk), junk);
  auto f = w.finish();
  ASSERT_TRUE(repo_->write_pack(f.pack_id, *f.data, f.entries).is_ok());
  rec.packs.push_back({f.pack_id, f.entries});
  ASSERT_TRUE(repo_->write_condemned(rec).is_ok());

  auto other = reopen();
  auto running = hold_lock(*other, "h1", "restore");
  PruneOptions lax;
  lax.max_unused_fraction = 1.0;
  auto r = prune_ok(lax);
  EXPECT_TRUE(repo_->list_names(repo::pack_name(f.pack_id))->size() == 1) << "kept while anything runs";
  (void)r;
  ASSERT_TRUE(running->release().is_ok());
  prune_ok(lax);
  EXPECT_TRUE(repo_->list_names(repo::pack_name(f.pack_id))->empty());
}

TEST_F(Prune, RefusesWhenASnapshotCannotBeRead) {
  auto g = make_garbage(10);
  // A snapshot whose tree is not in the repository.
  repo::Snapshot broken = g.second.snapshot;
  broken.tree = repo::Id::random();
  ASSERT_TRUE(repo_->save_snapshot(broken).is_ok());
  auto objects = all_objects();
  auto fresh = reopen();
  auto r = prune(*fresh, {}, ctx_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt);
  EXPECT_NE(r.status().message().find("nothing was changed"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(broken.id.short_hex()), std::string::npos) << r.status().message();
  EXPECT_EQ(all_objects(), objects);
  EXPECT_EQ(count("locks/"), 0u);
}

TEST_F(Prune, DoesNotWaitForRunningBackupsToStart) {
  auto other = reopen();
  auto running = hold_lock(*other, "h1", "backup");
  auto fresh = reopen();
  auto r = prune(*fresh, {}, ctx_);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  auto ex = repo::RepoLock::acquire(*other, repo::LockKind::kExclusive, {"elsewhere", "u", 1, "repair"});
  EXPECT_EQ(ex.status().code(), ErrorCode::kLocked);
}

TEST_F(Prune, IsAudited) {
  make_garbage(11);
  size_t before = count("log/");
  prune_ok();
  EXPECT_EQ(count("log/"), before + 1);
}

}  // namespace
}  // namespace lifeboat::ops
