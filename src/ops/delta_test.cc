// Deltas (docs/FORMAT.md, "Deltas"): fixed-size chunks of a file's new
// version stored against the same chunks of its previous version, through
// everything that reads blobs: restore, check --read-data, prune.
#include <filesystem>

#include <gtest/gtest.h>

#include "ops/check.h"
#include "ops/forget.h"
#include "ops/prune.h"
#include "ops/restore.h"
#include "ops/snapshot_builder.h"
#include "unit/ops_fixture.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::splitmix_bytes;

constexpr size_t kChunk = 16 << 10;
constexpr size_t kChunks = 48;
constexpr const char* kPath = "data/base/5/16384";

class Deltas : public lifeboat::testing::ReopenableOpsTest {
 protected:
  // Stores `content` as a relation file; against `previous` when given.
  repo::Snapshot store(const Bytes& content, const repo::Snapshot* previous) {
    auto b = SnapshotBuilder::begin(*repo_, ctx_);
    EXPECT_TRUE(b.is_ok()) << b.status().message();
    if (previous) (*b)->set_previous(*previous);
    EntryMeta meta;
    EXPECT_TRUE(
        (*b)->add_file_version(kPath, read_from(content), meta, content.size(), Cutter::fixed(kChunk)).is_ok());
    SnapshotInfo info;
    info.kind = "postgres-base";
    info.paths = {"/pg"};
    auto snap = (*b)->commit(info);
    EXPECT_TRUE(snap.is_ok()) << snap.status().message();
    clock_.advance(60 * kNanosPerSecond);
    return *snap;
  }
  // A new version: a few bytes changed in every chunk but the first.
  static Bytes touched(Bytes content, uint64_t seed) {
    for (size_t c = 1; c < kChunks; ++c)
      for (size_t k = 0; k < 4; ++k) content[c * kChunk + (seed * 131 + k * 977) % kChunk] ^= 0x5a;
    return content;
  }
  std::string restored(repo::Repository& repo, const repo::Snapshot& snap) {
    EXPECT_TRUE(repo.load_index().is_ok());
    std::string target = dir_ / ("restore-" + snap.id.short_hex());
    RestoreOptions o;
    o.target = target;
    auto r = restore(repo, snap, o, ctx_);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    return lifeboat::testing::read_file(target + "/" + kPath);
  }
  static uint64_t stored_bytes(repo::Repository& repo) {
    auto packs = repo.list_packs();  // kept alive for the loop
    uint64_t n = 0;
    for (const auto& p : *packs) n += p.size;
    return n;
  }
  struct Kinds {
    size_t deltas = 0, whole = 0;
  };
  Kinds kinds(repo::Repository& repo, const repo::Snapshot& snap) {
    auto tree = repo.load_tree(snap.tree);
    EXPECT_TRUE(tree.is_ok()) << tree.status().message();
    Kinds k;
    for (std::string_view dir : {"data", "base", "5"}) {
      std::optional<repo::Id> sub;
      for (const auto& n : tree->nodes)
        if (n.name == dir) sub = n.subtree;
      EXPECT_TRUE(sub.has_value()) << dir;
      if (!sub) return {};
      tree = repo.load_tree(*sub);
    }
    for (const auto& id : tree->nodes.at(0).content) {
      auto loc = repo.locate(id);
      EXPECT_TRUE(loc.has_value());
      (loc && loc->entry.is_delta() ? k.deltas : k.whole)++;
      if (loc && loc->entry.is_delta()) {
        auto base = repo.locate(loc->entry.base);
        EXPECT_TRUE(base && !base->entry.is_delta()) << "a delta's base must be stored whole";
      }
    }
    return k;
  }
};

TEST_F(Deltas, ChangedChunksAreStoredAgainstTheirPreviousVersionAndReadBack) {
  Bytes v1 = splitmix_bytes(lifeboat::testing::test_seed(), kChunks * kChunk);
  auto s1 = store(v1, nullptr);
  uint64_t after_first = stored_bytes(*repo_);

  Bytes v2 = touched(v1, 1);
  auto s2 = store(v2, &s1);
  Bytes v3 = touched(v2, 2);
  auto s3 = store(v3, &s2);  // s2's chunks are deltas: s3's are against s1's

  auto fresh = reopen();
  ASSERT_TRUE(fresh->load_index().is_ok());
  Kinds k2 = kinds(*fresh, s2), k3 = kinds(*fresh, s3);
  EXPECT_EQ(k2.deltas, kChunks - 1);
  EXPECT_EQ(k3.deltas, kChunks - 1);
  uint64_t total = stored_bytes(*fresh);
  // Random data does not compress: two whole versions would double it.
  EXPECT_LT(total - after_first, after_first / 10) << "deltas should cost a few bytes per changed chunk";

  EXPECT_EQ(restored(*fresh, s1), std::string(as_string_view(v1)));
  EXPECT_EQ(restored(*fresh, s2), std::string(as_string_view(v2)));
  EXPECT_EQ(restored(*fresh, s3), std::string(as_string_view(v3)));
  expect_clean(*reopen());
}

TEST_F(Deltas, ARestoreThawsThePacksOfTheBasesToo) {
  Bytes v1 = splitmix_bytes(lifeboat::testing::test_seed(), kChunks * kChunk);
  auto s1 = store(v1, nullptr);
  std::set<repo::Id> first_data;
  {
    auto fresh = reopen();
    ASSERT_TRUE(fresh->load_index().is_ok());
    fresh->index().for_each([&](const repo::Id& pack, const repo::PackEntry& e) {
      if (e.type == repo::BlobType::kData) first_data.insert(pack);
    });
  }
  auto s2 = store(touched(v1, 1), &s1);
  auto fresh = reopen();
  RestoreOptions o;
  o.target = dir_ / "unused";
  auto needed = packs_for_restore(*fresh, s2, o, ctx_);
  ASSERT_TRUE(needed.is_ok()) << needed.status().message();
  std::set<repo::Id> got(needed->begin(), needed->end());
  for (const auto& p : first_data) EXPECT_TRUE(got.count(p)) << "base pack " << p.short_hex() << " is not thawed";
}

TEST_F(Deltas, AVersionThatDriftedFarIsStoredWholeAndBecomesTheBase) {
  Bytes v1 = splitmix_bytes(lifeboat::testing::test_seed(), kChunks * kChunk);
  auto s1 = store(v1, nullptr);
  Bytes v2 = splitmix_bytes(lifeboat::testing::test_seed() + 1, kChunks * kChunk);
  auto s2 = store(v2, &s1);
  auto fresh = reopen();
  ASSERT_TRUE(fresh->load_index().is_ok());
  EXPECT_EQ(kinds(*fresh, s2).deltas, 0u);
  EXPECT_EQ(restored(*fresh, s2), std::string(as_string_view(v2)));
}

TEST_F(Deltas, PruneKeepsABaseThatOnlyDeltasReference) {
  Bytes v1 = splitmix_bytes(lifeboat::testing::test_seed(), kChunks * kChunk);
  auto s1 = store(v1, nullptr);
  Bytes v2 = touched(v1, 1);
  auto s2 = store(v2, &s1);
  {
    ForgetOptions o;
    o.snapshots = {s1.id.hex()};
    auto fresh = reopen();
    ASSERT_TRUE(forget(*fresh, o, ctx_).is_ok());
  }
  {
    auto fresh = reopen();
    auto r = prune(*fresh, {}, ctx_);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_EQ(r->snapshots, 1u);
  }
  auto fresh = reopen();
  EXPECT_EQ(restored(*fresh, s2), std::string(as_string_view(v2)));
  expect_clean(*reopen());
}

TEST_F(Deltas, CheckReportsDeltasWhoseBaseIsGone) {
  Bytes v1 = splitmix_bytes(lifeboat::testing::test_seed(), kChunks * kChunk);
  auto s1 = store(v1, nullptr);
  std::set<repo::Id> first_packs = pack_ids(*repo_);
  auto s2 = store(touched(v1, 1), &s1);
  for (const auto& id : first_packs) std::filesystem::remove(dir_ / ("real/" + repo::pack_name(id)));
  auto fresh = reopen();
  CheckOptions o;
  o.read_data = true;
  auto r = check(*fresh, o, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_FALSE(r->ok());
  // The second snapshot's file is named as damaged, through its deltas.
  bool named = false;
  for (const auto& d : r->damaged)
    for (const auto& a : d.affected) named = named || a.find("snapshot " + s2.id.short_hex()) != std::string::npos;
  EXPECT_TRUE(named);
}

}  // namespace
}  // namespace lifeboat::ops
