#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "ops/forget.h"
#include "ops/keys.h"
#include "ops/prune.h"
#include "ops/reencrypt.h"
#include "repo/audit.h"
#include "repo/lock.h"
#include "unit/ops_fixture.h"
#include "util/encoding.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::splitmix_bytes;
using lifeboat::testing::tree_contents;
using lifeboat::testing::write_file;

class KeyRotate : public lifeboat::testing::ReopenableOpsTest {
 protected:
  // The epoch a pack's blobs are sealed with (the envelope of its first blob).
  uint32_t pack_epoch(const repo::Id& pack) { return stored_epoch(repo::pack_name(pack)); }
};

TEST_F(KeyRotate, NewDataUsesTheNewEpochAndOldDataStaysReadable) {
  auto first = backup().snapshot;
  auto first_contents = tree_contents(src_);
  auto before = pack_ids(*repo_);
  {
    auto r = reopen();
    auto epoch = key_rotate(*r, ctx_);
    ASSERT_TRUE(epoch.is_ok()) << epoch.status().message();
    EXPECT_EQ(*epoch, 2u);
    EXPECT_EQ(r->keys().master().data_keys.size(), 2u);
  }
  // Any key file opens the new epoch: the keyring is not in the key files.
  auto r = reopen();
  ASSERT_EQ(r->keys().master().data_keys.size(), 2u);
  EXPECT_EQ(r->keys().master().data_keys.back().epoch, 2u);
  EXPECT_GT(r->keys().master().data_keys.back().created_ns, 0);

  write_file(src_ + "/after.bin", as_string_view(splitmix_bytes(3, 80 * 1024)));
  auto second = ops::backup(*r, backup_options(), ctx_);
  ASSERT_TRUE(second.is_ok()) << second.status().message();
  auto second_contents = tree_contents(src_);
  for (const auto& p : pack_ids(*r)) EXPECT_EQ(pack_epoch(p), before.count(p) ? 1u : 2u) << p.short_hex();

  auto fresh = reopen();
  EXPECT_TRUE(restore_contents(*fresh, first) == first_contents);
  EXPECT_TRUE(restore_contents(*fresh, second->snapshot) == second_contents);
  expect_clean(*fresh);
  // A key added now carries on working, and a second rotation makes epoch 3.
  auto id = key_add(*fresh, "another", {}, ctx_);
  ASSERT_TRUE(id.is_ok()) << id.status().message();
  auto other = repo::Repository::open(dir_ / "real", "another", clock_);
  ASSERT_TRUE(other.is_ok()) << other.status().message();
  EXPECT_EQ((*other)->keys().master().data_keys.size(), 2u);
  auto third = key_rotate(**other, ctx_);
  ASSERT_TRUE(third.is_ok());
  EXPECT_EQ(*third, 3u);
  EXPECT_EQ(reopen()->keys().master().data_keys.back().epoch, 3u);
}

TEST_F(KeyRotate, PruneRepacksUnderTheNewEpoch) {
  write_file(src_ + "/goes.bin", as_string_view(splitmix_bytes(8, 120 * 1024)));
  auto first = backup().snapshot;
  std::filesystem::remove(src_ + "/goes.bin");
  auto second = backup().snapshot;
  auto contents = tree_contents(src_);
  {
    auto r = reopen();
    ASSERT_TRUE(key_rotate(*r, ctx_).is_ok());
    ForgetOptions f;
    f.snapshots = {first.id.hex()};
    ASSERT_TRUE(forget(*r, f, ctx_).is_ok());
  }
  auto before = pack_ids(*repo_);
  auto r = reopen();
  PruneOptions o;
  o.max_unused_fraction = 0.0;
  auto pr = prune(*r, o, ctx_);
  ASSERT_TRUE(pr.is_ok()) << pr.status().message();
  EXPECT_GT(pr->packs_written, 0u);
  for (const auto& p : pack_ids(*r))
    if (!before.count(p)) {
      EXPECT_EQ(pack_epoch(p), 2u) << "repacked blobs are sealed again";
    }
  auto fresh = reopen();
  EXPECT_TRUE(restore_contents(*fresh, second) == contents);
  expect_clean(*fresh);
}

TEST_F(KeyRotate, ADamagedKeyringEntryStopsTheOpen) {
  backup();
  {
    auto r = reopen();
    ASSERT_TRUE(key_rotate(*r, ctx_).is_ok());
  }
  std::string entry = dir_ / "real/keyring/0000000002";
  ASSERT_TRUE(std::filesystem::exists(entry));
  auto data = lifeboat::testing::read_file(entry);
  data[data.size() / 2] ^= 1;
  write_file(entry, data);
  auto r = repo::Repository::open(dir_ / "real", "pw", clock_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt);
  EXPECT_NE(r.status().message().find("keyring/0000000002"), std::string::npos) << r.status().message();
}

TEST_F(KeyRotate, TakesTheExclusiveLock) {
  auto r = reopen();
  auto other = reopen();
  auto held = repo::RepoLock::acquire(*other, repo::LockKind::kShared, {"elsewhere", "u", 1, "backup"});
  ASSERT_TRUE(held.is_ok());
  auto epoch = key_rotate(*r, ctx_);
  ASSERT_FALSE(epoch.is_ok());
  EXPECT_EQ(epoch.status().code(), ErrorCode::kLocked);
  EXPECT_TRUE(r->list_names("keyring/")->empty());
}

TEST_F(KeyRotate, ReencryptSealsEverythingAgainAndRetiresTheOldKeys) {
  write_file(src_ + "/one.bin", as_string_view(splitmix_bytes(21, 90 * 1024)));
  auto first = backup().snapshot;
  auto first_contents = tree_contents(src_);
  write_file(src_ + "/two.bin", as_string_view(splitmix_bytes(22, 50 * 1024)));
  auto second = backup().snapshot;
  auto second_contents = tree_contents(src_);
  {
    auto r = reopen();
    ASSERT_TRUE(key_add(*r, "colleague", {}, ctx_).is_ok());
    ASSERT_TRUE(key_rotate(*r, ctx_).is_ok());  // an epoch in the keyring, retired too
  }
  auto old_packs = pack_ids(*repo_);
  auto old_snapshots = *repo_->list_snapshot_ids();

  auto r = reopen();
  auto refused = reencrypt(*r, "pw", {}, ctx_);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("--remove-other-keys"), std::string::npos);
  EXPECT_EQ(pack_ids(*repo_), old_packs) << "refused before any change";

  ReencryptOptions o;
  o.remove_other_keys = true;
  auto done = reencrypt(*reopen(), "pw", o, ctx_);
  ASSERT_TRUE(done.is_ok()) << done.status().message();
  EXPECT_EQ(done->epoch, 3u);
  EXPECT_EQ(done->removed_keys.size(), 1u) << "the colleague's key";
  EXPECT_EQ(done->snapshots, 2u);

  auto fresh = reopen();
  ASSERT_EQ(fresh->keys().master().data_keys.size(), 1u);
  EXPECT_EQ(fresh->keys().master().data_keys[0].epoch, 3u);
  EXPECT_EQ(fresh->key_id(), done->key_id);
  EXPECT_TRUE(fresh->list_names("keyring/")->empty());
  EXPECT_EQ(repo::Repository::open(dir_ / "real", "colleague", clock_).status().code(), ErrorCode::kWrongPassword);
  for (const auto& p : pack_ids(*fresh)) {
    EXPECT_FALSE(old_packs.count(p)) << "every pack was rewritten";
    EXPECT_EQ(pack_epoch(p), 3u);
  }
  EXPECT_EQ(*fresh->list_snapshot_ids(), old_snapshots) << "snapshot ids stay";
  // Every sealed object is under epoch 3 now: the old keys open nothing.
  for (const char* prefix : {"index/", "snapshots/", "log/"}) {
    auto names = fresh->list_names(prefix);  // kept alive for the loop
    ASSERT_TRUE(names.is_ok());
    for (const auto& name : *names) EXPECT_EQ(stored_epoch(name), 3u) << name;
  }
  EXPECT_TRUE(restore_contents(*fresh, *fresh->load_snapshot(first.id)) == first_contents);
  EXPECT_TRUE(restore_contents(*fresh, *fresh->load_snapshot(second.id)) == second_contents);
  expect_clean(*fresh);
  auto log = repo::load_audit(*fresh);
  ASSERT_TRUE(log.is_ok());
  EXPECT_TRUE(log->problems.empty()) << "the hash chain survives re-sealing: " << log->problems.front();
  EXPECT_EQ(log->records.back().operation, "key rotate --reencrypt");
}

TEST_F(KeyRotate, ReencryptWaitsForPrunesPendingDeletions) {
  backup();
  repo::CondemnedRecord rec;
  rec.complete = true;
  ASSERT_TRUE(repo_->write_condemned(rec).is_ok());
  auto r = reencrypt(*reopen(), "pw", {}, ctx_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("lifeboat prune"), std::string::npos);
  EXPECT_TRUE(repo_->list_names("keyring/")->empty()) << "nothing changed";
}

}  // namespace
}  // namespace lifeboat::ops
