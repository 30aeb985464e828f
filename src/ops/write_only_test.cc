// Write-only keys: a backup host creates snapshots and deduplicates against
// what is stored, and can neither read nor remove anything.
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "ops/forget.h"
#include "ops/keys.h"
#include "ops/prune.h"
#include "ops/reencrypt.h"
#include "repo/audit.h"
#include "repo/lock.h"
#include "repo/pack.h"
#include "unit/ops_fixture.h"
#include "util/encoding.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::read_file;
using lifeboat::testing::splitmix_bytes;
using lifeboat::testing::tree_contents;
using lifeboat::testing::write_file;

class WriteOnly : public lifeboat::testing::ReopenableOpsTest {
 protected:
  // Adds a write-only key "wo" with the full key "pw"; returns its id.
  repo::Id add_write_only() {
    auto r = reopen();
    KeyAddOptions o;
    o.write_only = true;
    o.hostname = "backup-host";
    auto id = key_add(*r, "wo", o, ctx_);
    if (!id.is_ok()) throw std::runtime_error(id.status().message());
    return *id;
  }
  std::unique_ptr<repo::Repository> open_write_only() {
    auto r = repo::Repository::open(dir_ / "real", "wo", clock_);
    if (!r.is_ok()) throw std::runtime_error(r.status().message());
    return std::move(*r);
  }
  std::vector<std::string> names(repo::Repository& r, const std::string& prefix) {
    auto n = r.list_names(prefix);
    if (!n.is_ok()) throw std::runtime_error(n.status().message());
    return *n;
  }
};

TEST_F(WriteOnly, BacksUpWithDedupAndOnlyAFullKeyReadsIt) {
  auto first = backup().snapshot;  // by the full key
  auto first_contents = tree_contents(src_);
  auto packs_before = pack_ids(*repo_);
  add_write_only();

  // Every piece of metadata is sealed under the shared key now; data is not.
  EXPECT_EQ(stored_epoch("config"), repo::kSharedEpoch);
  for (const auto& prefix : {"index/", "log/"})
    for (const auto& n : names(*repo_, prefix)) EXPECT_EQ(stored_epoch(n), repo::kSharedEpoch) << n;
  for (const auto& n : names(*repo_, "snapshots/")) EXPECT_EQ(stored_epoch(n), 1u) << n;

  auto wo = open_write_only();
  EXPECT_TRUE(wo->keys().write_only());
  // Same data again (no files cache: every file is read): everything dedups.
  auto o = backup_options();
  o.cache_root.clear();
  auto again = ops::backup(*wo, o, ctx_);
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ(again->snapshot.summary.data_blobs, 0u) << "dedup against what the full key stored";
  EXPECT_FALSE(again->snapshot.parent) << "a write-only key cannot read the earlier snapshots";

  // New data: sealed for the recovery key, which the write-only key lacks.
  write_file(src_ + "/new.bin", as_string_view(splitmix_bytes(41, 150 * 1024)));
  clock_.advance(60 * kNanosPerSecond);
  auto second = ops::backup(*wo, o, ctx_);
  ASSERT_TRUE(second.is_ok()) << second.status().message();
  EXPECT_GT(second->snapshot.summary.data_blobs, 0u);
  auto second_contents = tree_contents(src_);
  std::string snap_name = "snapshots/" + second->snapshot.id.hex();
  EXPECT_EQ(stored_epoch(snap_name), repo::kBoxEpoch);
  for (const auto& p : pack_ids(*wo))
    if (!packs_before.count(p)) {
      EXPECT_EQ(stored_epoch(repo::pack_name(p)), repo::kBoxEpoch);
    }

  // It cannot open what it wrote, nor what was there.
  auto snap = wo->load_snapshot(second->snapshot.id);
  ASSERT_FALSE(snap.is_ok());
  EXPECT_EQ(snap.status().code(), ErrorCode::kPermission) << snap.status().message();
  EXPECT_EQ(wo->load_snapshot(first.id).status().code(), ErrorCode::kPermission);
  ASSERT_TRUE(wo->load_index().is_ok());
  EXPECT_EQ(wo->read_blob(first.tree).status().code(), ErrorCode::kPermission);
  EXPECT_EQ(wo->load_tree(second->snapshot.tree).status().code(), ErrorCode::kPermission);

  // The full key restores both, and check reads every blob.
  auto full = reopen();
  auto loaded = full->load_snapshot(second->snapshot.id);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  EXPECT_EQ(loaded->hostname, "test-host");
  EXPECT_TRUE(restore_contents(*full, *loaded) == second_contents);
  EXPECT_TRUE(restore_contents(*full, first) == first_contents);
  expect_clean(*full);
  auto log = repo::load_audit(*full);
  ASSERT_TRUE(log.is_ok());
  EXPECT_TRUE(log->problems.empty());
  EXPECT_EQ(log->records.back().operation, "backup");
}

TEST_F(WriteOnly, RefusesEverythingThatReadsOrRemoves) {
  backup();
  add_write_only();
  auto wo = open_write_only();
  auto expect_refused = [](const Status& s, std::string_view what) {
    EXPECT_EQ(s.code(), ErrorCode::kPermission) << what << ": " << s.message();
    EXPECT_NE(s.message().find("write-only"), std::string::npos) << s.message();
  };
  ForgetOptions f;
  f.policy.last = 1;
  expect_refused(forget(*wo, f, ctx_).status(), "forget");
  expect_refused(prune(*wo, {}, ctx_).status(), "prune");
  PruneOptions dry;
  dry.dry_run = true;
  expect_refused(prune(*wo, dry, ctx_).status(), "prune --dry-run");
  expect_refused(key_rotate(*wo, ctx_).status(), "key rotate");
  expect_refused(key_add(*wo, "x", {}, ctx_).status(), "key add");
  auto keys = key_list(*wo);
  ASSERT_TRUE(keys.is_ok());
  for (const auto& k : *keys) expect_refused(key_remove(*wo, k.info.id.hex(), ctx_).status(), "key remove");
  expect_refused(reencrypt(*wo, "wo", {}, ctx_).status(), "reencrypt");
  expect_refused(check(*wo, {}, ctx_).status(), "check");
  EXPECT_EQ(keys->size(), key_list(*reopen())->size()) << "nothing removed";
  EXPECT_TRUE(names(*wo, "locks/").empty()) << "refusals leave no lock";
}

TEST_F(WriteOnly, MetadataWrittenByFullKeysStaysReadable) {
  add_write_only();
  // A full key that opened before the shared key existed picks it up when it
  // locks, so its index and audit records are readable to write-only hosts.
  auto early = reopen();
  {
    auto other = reopen();
    EXPECT_TRUE(other->keys().sealing_shared());
  }
  backup();  // the fixture's repo_ opened before key add --write-only
  for (const auto& n : names(*early, "index/")) EXPECT_EQ(stored_epoch(n), repo::kSharedEpoch) << n;
  for (const auto& n : names(*early, "log/")) EXPECT_EQ(stored_epoch(n), repo::kSharedEpoch) << n;
  auto wo = open_write_only();
  ASSERT_TRUE(wo->load_index().is_ok());
  EXPECT_GT(wo->index().blob_count(), 0u);
  auto log = repo::load_audit(*wo);
  ASSERT_TRUE(log.is_ok()) << log.status().message();
  EXPECT_TRUE(log->problems.empty());
  // A key rotation keeps the shared key.
  ASSERT_TRUE(key_rotate(*early, ctx_).is_ok());
  EXPECT_TRUE(reopen()->keys().sealing_shared());
  auto o = backup_options();
  auto r = ops::backup(*open_write_only(), o, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
}

TEST_F(WriteOnly, ABoxWithTheWrongContentIsDetected) {
  add_write_only();
  auto wo = open_write_only();
  ASSERT_TRUE(wo->load_index().is_ok());
  // A compromised host stores content under an id it does not match: the
  // box opens (anyone can seal for the recovery key), the id check catches it.
  Bytes real = splitmix_bytes(5, 4096);
  Bytes forged = splitmix_bytes(6, 4096);
  repo::Id id = wo->keys().blob_id(real);
  repo::PackWriter w(wo->keys(), 0, 0, nullptr);
  w.add(repo::BlobType::kData, id, forged);
  auto f = w.finish();
  ASSERT_TRUE(wo->write_pack(f.pack_id, *f.data, f.entries).is_ok());
  ASSERT_TRUE(wo->write_index({{f.pack_id, f.entries}}).is_ok());
  auto full = reopen();
  ASSERT_TRUE(full->load_index().is_ok());
  auto read = full->read_blob(id);
  ASSERT_FALSE(read.is_ok());
  EXPECT_EQ(read.status().code(), ErrorCode::kCorrupt);
  EXPECT_NE(read.status().message().find("does not match its id"), std::string::npos) << read.status().message();
  auto c = check_all(*full);
  EXPECT_FALSE(c.ok());
  // Nor can it make prune delete anything with a forged condemned record:
  // only records sealed under a data key count.
  repo::CondemnedRecord rec;
  rec.time_ns = clock_.now_ns();
  rec.packs.push_back({f.pack_id, f.entries});
  ASSERT_TRUE(wo->write_condemned(rec).is_ok());
  std::vector<std::string> damaged;
  auto records = full->list_condemned(&damaged);
  ASSERT_TRUE(records.is_ok());
  EXPECT_TRUE(records->empty());
  ASSERT_EQ(damaged.size(), 1u);
  EXPECT_NE(damaged[0].find("not sealed under a data key"), std::string::npos) << damaged[0];
}

TEST_F(WriteOnly, PruneAndReencryptMoveBoxesUnderTheDataKey) {
  add_write_only();
  write_file(src_ + "/goes.bin", as_string_view(splitmix_bytes(8, 120 * 1024)));
  auto o = backup_options();
  auto first = ops::backup(*open_write_only(), o, ctx_);
  ASSERT_TRUE(first.is_ok()) << first.status().message();
  clock_.advance(60 * kNanosPerSecond);
  std::filesystem::remove(src_ + "/goes.bin");
  auto second = ops::backup(*open_write_only(), o, ctx_);
  ASSERT_TRUE(second.is_ok()) << second.status().message();
  auto contents = tree_contents(src_);
  {
    auto r = reopen();
    ForgetOptions f;
    f.snapshots = {first->snapshot.id.hex()};
    ASSERT_TRUE(forget(*r, f, ctx_).is_ok());
    PruneOptions p;
    p.max_unused_fraction = 0.0;
    auto pr = prune(*r, p, ctx_);
    ASSERT_TRUE(pr.is_ok()) << pr.status().message();
    EXPECT_GT(pr->packs_written, 0u);
  }
  auto r = reopen();
  EXPECT_TRUE(restore_contents(*r, *r->load_snapshot(second->snapshot.id)) == contents);
  expect_clean(*r);

  // --reencrypt retires the write-only keys and the shared key with them.
  ReencryptOptions ro;
  ro.remove_other_keys = true;
  auto done = reencrypt(*reopen(), "pw", ro, ctx_);
  ASSERT_TRUE(done.is_ok()) << done.status().message();
  EXPECT_EQ(repo::Repository::open(dir_ / "real", "wo", clock_).status().code(), ErrorCode::kWrongPassword);
  auto fresh = reopen();
  EXPECT_FALSE(fresh->keys().master().shared_key);
  EXPECT_TRUE(names(*fresh, "keyring/").empty());
  uint32_t epoch = fresh->keys().data_epoch();
  EXPECT_EQ(stored_epoch("config"), epoch);
  for (const auto& prefix : {"index/", "snapshots/", "log/"})
    for (const auto& n : names(*fresh, prefix)) EXPECT_EQ(stored_epoch(n), epoch) << n;
  for (const auto& p : pack_ids(*fresh)) EXPECT_EQ(stored_epoch(repo::pack_name(p)), epoch);
  EXPECT_TRUE(restore_contents(*fresh, *fresh->load_snapshot(second->snapshot.id)) == contents);
  expect_clean(*fresh);
}

TEST_F(WriteOnly, TheLastFullKeyCannotBeRemoved) {
  auto wo_id = add_write_only();
  auto r = reopen();
  auto keys = key_list(*r);
  ASSERT_TRUE(keys.is_ok());
  ASSERT_EQ(keys->size(), 2u);
  for (const auto& k : *keys) EXPECT_GT(k.info.created_ns, 0) << "write-only keys record when they were made too";
  KeyAddOptions wo;
  wo.write_only = true;
  EXPECT_EQ(key_add(*r, "", wo, ctx_).status().code(), ErrorCode::kInvalidArgument) << "an empty password";
  auto removed = r->remove_key(r->key_id(), true);
  ASSERT_FALSE(removed.is_ok());
  EXPECT_NE(removed.message().find("last full key"), std::string::npos) << removed.message();
  // The write-only key itself can go.
  ASSERT_TRUE(key_remove(*r, wo_id.hex(), ctx_).is_ok());
  EXPECT_EQ(repo::Repository::open(dir_ / "real", "wo", clock_).status().code(), ErrorCode::kWrongPassword);
}

TEST_F(WriteOnly, AFullKeysLockIsExclusiveToAWriteOnlyKeyThatCannotReadIt) {
  add_write_only();
  auto wo = open_write_only();
  auto full = reopen();
  full->stop_sharing();  // as key rotate --reencrypt does
  auto held = repo::RepoLock::acquire(*full, repo::LockKind::kShared, {"elsewhere", "u", 1, "backup"});
  ASSERT_TRUE(held.is_ok());
  auto o = backup_options();
  auto r = ops::backup(*wo, o, ctx_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kLocked) << r.status().message();
  ASSERT_TRUE((*held)->release().is_ok());
  EXPECT_TRUE(ops::backup(*wo, o, ctx_).is_ok());
}

}  // namespace
}  // namespace lifeboat::ops
