#include "ops/repair.h"

#include <gtest/gtest.h>

#include "ops/check.h"
#include "ops/ls.h"
#include "ops/prune.h"
#include "ops/restore.h"
#include "unit/ops_fixture.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::OpsTest;

class RepairIndex : public lifeboat::testing::ReopenableOpsTest {
 protected:
  // The entry at `path` in `snap` (read through the fixture's repository).
  repo::Node node_at(const repo::Snapshot& snap, const std::string& path) {
    repo::Node found;
    Status st = ls(*repo_, snap, {.path = path}, [&](const std::string& p, const repo::Node& n) {
      if (p == path) found = n;
    });
    EXPECT_TRUE(st.is_ok()) << st.message();
    return found;
  }
  // Flips a byte in the middle of `e`, a blob of pack `pack_id` (bit rot).
  void damage_blob(const repo::Id& pack_id, const repo::PackEntry& e) {
    std::string path = dir_ / "real" + "/" + repo::pack_name(pack_id);
    std::string bytes = lifeboat::testing::read_file(path);
    bytes[e.offset + e.length / 2] ^= 0x40;
    lifeboat::testing::write_file(path, bytes);
  }
  // prune --max-unused 0%, which must repack or delete something, then
  // check --read-data of the result.
  CheckResult check_after_strict_prune() {
    PruneOptions strict;
    strict.max_unused_fraction = 0.0;
    auto pr = prune(*reopen(), strict, ctx_);
    EXPECT_TRUE(pr.is_ok()) << pr.status().message();
    if (pr.is_ok()) {
      EXPECT_GT(pr->packs_repacked + pr->packs_unused, 0u);
    }
    auto after = check_all(*reopen());
    EXPECT_TRUE(after.ok()) << ::testing::PrintToString(after.errors);
    return after;
  }
  void remove_all_index_files(repo::Repository& repo) {
    auto ids = repo.list_index_files();  // kept alive for the loop
    for (const auto& id : *ids) {
      Status s = repo.remove("index/" + id.hex());
      ASSERT_TRUE(s.is_ok()) << s.message();
    }
  }
};

TEST_F(RepairIndex, RebuildsALostIndex) {
  auto first = backup();
  lifeboat::testing::write_file(src_ + "/more.txt", "more data");
  auto second = backup();
  size_t packs = repo_->list_packs()->size();
  remove_all_index_files(*repo_);
  {
    auto broken = reopen();
    EXPECT_FALSE(check_all(*broken).ok()) << "without an index the trees are unreachable";
  }
  auto repo = reopen();
  RepairIndexOptions o;
  o.packs_per_index_file = 2;  // several index files
  auto r = repair_index(*repo, o, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->packs_indexed, packs);
  EXPECT_EQ(r->index_files_written, (packs + 1) / 2);
  EXPECT_EQ(r->index_files_removed, 0u);
  EXPECT_EQ(r->damaged_packs, std::vector<std::string>{});
  auto fresh = reopen();
  auto c = check_all(*fresh);
  EXPECT_TRUE(c.ok()) << ::testing::PrintToString(c.errors);
  EXPECT_EQ(c.notes, std::vector<std::string>{});
  ASSERT_TRUE(fresh->load_index().is_ok());
  RestoreOptions ro;
  ro.target = dir_ / "restored";
  auto result = restore(*fresh, second.snapshot, ro, ctx_);
  ASSERT_TRUE(result.is_ok()) << result.status().message();
  EXPECT_EQ(result->errors, std::vector<std::string>{});
  EXPECT_EQ(lifeboat::testing::read_file(restored(dir_ / "restored", src_) + "/more.txt"), "more data");
}

TEST_F(RepairIndex, ReplacesDamagedIndexFilesAndLeavesDamagedPacksOut) {
  backup();
  auto index_files = *repo_->list_index_files();
  ASSERT_FALSE(index_files.empty());
  ASSERT_TRUE(repo_->write_sealed("index/" + index_files[0].hex(), as_bytes("garbage"), as_bytes("wrong aad")).is_ok());
  // A pack whose header no longer authenticates.
  auto packs = *repo_->list_packs();
  std::string victim = dir_ / "real" + "/" + repo::pack_name(packs[0].id);
  std::string bytes = lifeboat::testing::read_file(victim);
  bytes[bytes.size() - 10] ^= 0x01;
  lifeboat::testing::write_file(victim, bytes);

  auto repo = reopen();
  RepairIndexOptions dry;
  dry.dry_run = true;
  auto plan = repair_index(*repo, dry, ctx_);
  ASSERT_TRUE(plan.is_ok());
  EXPECT_EQ(*repo->list_index_files(), index_files) << "a dry run changes nothing";
  auto r = repair_index(*repo, {}, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->packs_indexed, packs.size() - 1);
  ASSERT_EQ(r->damaged_packs.size(), 1u);
  EXPECT_NE(r->damaged_packs[0].find(packs[0].id.short_hex()), std::string::npos);
  EXPECT_EQ(r->index_files_removed, index_files.size());
  auto now = *repo->list_index_files();
  for (const auto& old : index_files) EXPECT_EQ(std::count(now.begin(), now.end(), old), 0);
  ASSERT_TRUE(reopen()->load_index().is_ok()) << "the new index loads";
}

// Losing the pack that holds the middle of big.bin: repair index leaves it
// out, repair snapshots truncates big.bin at the loss, and the repaired
// snapshot passes check and restores everything that is left.
TEST_F(RepairIndex, RepairSnapshotsKeepsWhatIsLeft) {
  auto b = backup();
  repo::Node big = node_at(b.snapshot, src_ + "/big.bin");
  ASSERT_GE(big.content.size(), 3u) << "small chunker: several blobs";
  // The pack of the first blob that does not share the first blob's pack.
  repo::Id first_pack = repo_->index().lookup(big.content[0])->pack_id;
  std::optional<repo::Id> victim;
  for (const auto& id : big.content)
    if (repo_->index().lookup(id)->pack_id != first_pack) {
      victim = repo_->index().lookup(id)->pack_id;
      break;
    }
  ASSERT_TRUE(victim) << "big.bin should span several packs";
  uint64_t prefix = 0;
  for (const auto& id : big.content) {
    auto loc = repo_->index().lookup(id);
    if (loc->pack_id == *victim) break;
    prefix += loc->entry.raw_length;
  }
  ASSERT_TRUE(repo_->remove(repo::pack_name(*victim)).is_ok());
  auto repo = reopen();
  ASSERT_TRUE(repair_index(*repo, {}, ctx_).is_ok());

  auto dry = repair_snapshots(*reopen(), {.dry_run = true}, ctx_);
  ASSERT_TRUE(dry.is_ok()) << dry.status().message();
  ASSERT_EQ(dry->repaired.size(), 1u);
  EXPECT_FALSE(dry->repaired[0].repaired);
  EXPECT_EQ(reopen()->list_snapshot_ids()->size(), 1u);

  repo = reopen();
  auto r = repair_snapshots(*repo, {.forget = true}, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->repaired.size(), 1u);
  const auto& fixed = r->repaired[0];
  ASSERT_TRUE(fixed.repaired);
  bool named = false;
  for (const auto& l : fixed.lost) named = named || l.find(src_ + "/big.bin (") == 0;
  EXPECT_TRUE(named) << ::testing::PrintToString(fixed.lost);
  auto ids = *repo->list_snapshot_ids();
  ASSERT_EQ(ids, std::vector<repo::Id>{*fixed.repaired}) << "the original is forgotten";
  auto fresh = reopen();
  auto c = check_all(*fresh);
  EXPECT_TRUE(c.ok()) << ::testing::PrintToString(c.errors);
  auto snap = fresh->load_snapshot(*fixed.repaired);
  ASSERT_TRUE(snap.is_ok());
  EXPECT_EQ(snap->original, b.snapshot.id);
  EXPECT_NE(std::find(snap->tags.begin(), snap->tags.end(), "repaired"), snap->tags.end());
  ASSERT_TRUE(fresh->load_index().is_ok());
  RestoreOptions ro;
  ro.target = dir_ / "restored";
  auto result = restore(*fresh, *snap, ro, ctx_);
  ASSERT_TRUE(result.is_ok()) << result.status().message();
  EXPECT_EQ(result->errors, std::vector<std::string>{});
  std::string want = lifeboat::testing::read_file(src_ + "/big.bin");
  std::string got = lifeboat::testing::read_file(restored(dir_ / "restored", src_) + "/big.bin");
  EXPECT_EQ(got.size(), prefix) << "truncated at the first lost blob";
  EXPECT_EQ(got, want.substr(0, got.size()));
}

// A damaged blob just before its pack's header leaves no gap between indexed
// blobs: prune must still see its bytes as unused and repack them away.
TEST_F(RepairIndex, ADamagedBlobAtTheEndOfItsPackIsRepackedAway) {
  auto b = backup();
  repo::Node big = node_at(b.snapshot, src_ + "/big.bin");
  ASSERT_GE(big.content.size(), 2u);
  auto loc = *repo_->index().lookup(big.content[0]);
  auto packs = repo_->list_packs();  // kept alive for the loop
  ASSERT_TRUE(packs.is_ok());
  uint64_t size = 0;
  for (const auto& p : *packs)
    if (p.id == loc.pack_id) size = p.size;
  auto entries = repo_->read_pack_header(loc.pack_id, size);
  ASSERT_TRUE(entries.is_ok()) << entries.status().message();
  ASSERT_GE(entries->size(), 2u) << "the pack keeps indexed blobs besides the damaged one";
  auto last = *std::max_element(entries->begin(), entries->end(),
                                [](const repo::PackEntry& a, const repo::PackEntry& b) { return a.offset < b.offset; });
  damage_blob(loc.pack_id, last);

  auto r = repair_index(*reopen(), {.read_data = true}, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->damaged_blobs.size(), 1u);
  ASSERT_TRUE(repair_snapshots(*reopen(), {.forget = true}, ctx_).is_ok());
  auto after = check_after_strict_prune();
  EXPECT_EQ(after.notes, std::vector<std::string>{}) << "the damaged copy is gone";
}

// Bit rot inside one blob: the pack's header is fine, so only --read-data
// finds it. repair index --read-data leaves that blob out, repair snapshots
// truncates the file there, check passes (the damaged copy is a note), and a
// strict prune drops it from its pack.
TEST_F(RepairIndex, ReadDataLeavesADamagedBlobOut) {
  auto b = backup();
  repo::Node big = node_at(b.snapshot, src_ + "/big.bin");
  ASSERT_GE(big.content.size(), 3u);
  auto loc = *repo_->index().lookup(big.content[1]);
  damage_blob(loc.pack_id, loc.entry);

  auto headers_only = repair_index(*reopen(), {.dry_run = true}, ctx_);
  ASSERT_TRUE(headers_only.is_ok());
  EXPECT_TRUE(headers_only->damaged_blobs.empty()) << "the header still authenticates";
  auto r = repair_index(*reopen(), {.read_data = true}, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->damaged_blobs.size(), 1u);
  EXPECT_NE(r->damaged_blobs[0].find(big.content[1].short_hex()), std::string::npos) << r->damaged_blobs[0];
  EXPECT_TRUE(r->damaged_packs.empty());
  {
    auto fresh = reopen();
    ASSERT_TRUE(fresh->load_index().is_ok());
    EXPECT_FALSE(fresh->index().contains(big.content[1]));
    EXPECT_TRUE(fresh->index().contains(big.content[0]));
  }
  auto fixed = repair_snapshots(*reopen(), {.forget = true}, ctx_);
  ASSERT_TRUE(fixed.is_ok()) << fixed.status().message();
  ASSERT_EQ(fixed->repaired.size(), 1u);
  auto fresh = reopen();
  auto c = check_all(*fresh);
  EXPECT_TRUE(c.ok()) << ::testing::PrintToString(c.errors);
  EXPECT_TRUE(std::any_of(c.notes.begin(), c.notes.end(),
                          [](const std::string& n) { return n.find("no longer in the index") != std::string::npos; }))
      << ::testing::PrintToString(c.notes);
  auto snap = fresh->load_snapshot(*fixed->repaired[0].repaired);
  ASSERT_TRUE(snap.is_ok());
  auto contents = restore_contents(*fresh, *snap);
  std::string got = contents.at("big.bin");
  got = got.substr(got.find(':') + 1);
  auto first = fresh->index().lookup(big.content[0]);
  ASSERT_TRUE(first);
  std::string want = lifeboat::testing::read_file(src_ + "/big.bin");
  EXPECT_EQ(got, want.substr(0, first->entry.raw_length)) << "truncated where the damaged blob began";

  auto after = check_after_strict_prune();
  EXPECT_FALSE(std::any_of(after.notes.begin(), after.notes.end(), [](const std::string& n) {
    return n.find("no longer in the index") != std::string::npos;
  })) << "the damaged copy is gone";
}

}  // namespace
}  // namespace lifeboat::ops
