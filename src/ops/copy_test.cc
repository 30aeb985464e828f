#include "ops/copy.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "ops/check.h"
#include "unit/ops_fixture.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::OpsTest;
using lifeboat::testing::splitmix_bytes;
using lifeboat::testing::tree_contents;
using lifeboat::testing::write_file;
using Contents = std::map<std::string, std::string>;

class Copy : public OpsTest {
 protected:
  // A destination: related (the source's id key and chunker) or not.
  std::unique_ptr<repo::Repository> make_dest(bool related, const std::string& name = "dst") {
    repo::CreateOptions o = lifeboat::testing::small_options();
    if (related) {
      o.id_key = repo_->keys().master().id_key;
      o.chunker = repo_->config().chunker;
    } else {
      o.chunker = {2048, 8192, 32768, 2};  // other parameters too
    }
    auto r = repo::Repository::create(dir_ / name, "pw2", o, clock_);
    if (!r.is_ok()) throw std::runtime_error(r.status().message());
    return std::move(*r);
  }
  CopyResult copy_ok(repo::Repository& from, repo::Repository& to, const CopyOptions& o = {}) {
    auto r = copy(from, to, o, ctx_);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    if (!r.is_ok()) throw std::runtime_error(r.status().message());
    return *r;
  }
  std::vector<std::string> objects(repo::Repository& repo) {
    std::vector<std::string> out;
    for (const char* p : {"data/", "index/", "snapshots/"}) {
      auto names = repo.list_names(p);
      out.insert(out.end(), names->begin(), names->end());
    }
    return out;
  }
  // A second copy finds everything there and writes nothing.
  void expect_nothing_left_to_copy(repo::Repository& dst, size_t there) {
    auto before = objects(dst);
    auto again = copy_ok(*repo_, dst);
    EXPECT_TRUE(again.copied.empty());
    EXPECT_EQ(again.already_there.size(), there);
    EXPECT_EQ(objects(dst), before);
  }
  repo::Snapshot snapshot_copied_from(repo::Repository& repo, const repo::Id& source) {
    auto snaps = repo.load_snapshots();
    for (const auto& s : *snaps)
      if (s.copied_from && s.copied_from->snapshot == source) return s;
    throw std::runtime_error("no copy of " + source.short_hex());
  }

  // Two snapshots in the source, with what each held.
  void two_snapshots() {
    write_file(src_ + "/unique.bin", as_string_view(splitmix_bytes(5, 150 * 1024)));
    first_ = backup().snapshot;
    first_contents_ = tree_contents(src_);
    write_file(src_ + "/more.bin", as_string_view(splitmix_bytes(6, 60 * 1024)));
    std::filesystem::remove(src_ + "/a.txt");
    second_ = backup().snapshot;
    second_contents_ = tree_contents(src_);
  }
  repo::Snapshot first_, second_;
  Contents first_contents_, second_contents_;
};

TEST_F(Copy, RelatedRepositoriesMoveOnlyMissingBlobs) {
  two_snapshots();
  auto dst = make_dest(true);
  auto r = copy_ok(*repo_, *dst);
  EXPECT_TRUE(r.related);
  ASSERT_EQ(r.copied.size(), 2u);
  EXPECT_GT(r.blobs_copied, 0u);
  EXPECT_GT(r.blobs_present, 0u) << "the second snapshot shares most blobs with the first";
  auto c1 = snapshot_copied_from(*dst, first_.id);
  auto c2 = snapshot_copied_from(*dst, second_.id);
  EXPECT_EQ(c1.copied_from->repository, repo_->config().id);
  EXPECT_EQ(c1.tree, first_.tree) << "same ids: the tree is the same blob";
  EXPECT_EQ(c1.time_ns, first_.time_ns);
  EXPECT_EQ(c1.hostname, first_.hostname);
  EXPECT_EQ(c1.paths, first_.paths);
  EXPECT_FALSE(c2.parent.has_value());
  EXPECT_TRUE(restore_contents(*dst, c1) == first_contents_);
  EXPECT_TRUE(restore_contents(*dst, c2) == second_contents_);
  expect_clean(*dst);

  expect_nothing_left_to_copy(*dst, 2);

  // A new snapshot: only its new data moves.
  write_file(src_ + "/third.bin", as_string_view(splitmix_bytes(7, 40 * 1024)));
  auto third = backup().snapshot;
  auto more = copy_ok(*repo_, *dst);
  ASSERT_EQ(more.copied.size(), 1u);
  EXPECT_EQ(more.copied[0].source, third.id);
  EXPECT_LT(more.bytes_read, 60u * 1024) << "only third.bin and the changed trees were read";
  EXPECT_TRUE(restore_contents(*dst, snapshot_copied_from(*dst, third.id)) == tree_contents(src_));
}

TEST_F(Copy, UnrelatedRepositoriesRechunkAndRewriteTrees) {
  two_snapshots();
  auto dst = make_dest(false);
  // The destination has data of its own: copied files dedup against it.
  auto own = backup_options();
  auto mine = ops::backup(*dst, own, ctx_);
  ASSERT_TRUE(mine.is_ok()) << mine.status().message();
  auto r = copy_ok(*repo_, *dst);
  EXPECT_FALSE(r.related);
  ASSERT_EQ(r.copied.size(), 2u);
  EXPECT_GT(r.blobs_present, 0u) << "the destination's own backup of the same files already holds their chunks";
  auto c1 = snapshot_copied_from(*dst, first_.id);
  auto c2 = snapshot_copied_from(*dst, second_.id);
  EXPECT_NE(c1.tree, first_.tree);
  EXPECT_TRUE(restore_contents(*dst, c1) == first_contents_);
  EXPECT_TRUE(restore_contents(*dst, c2) == second_contents_);
  expect_clean(*dst);
  expect_nothing_left_to_copy(*dst, 2);

  // And back: the copies are recognised as the source's own snapshots.
  auto back = copy_ok(*dst, *repo_);
  ASSERT_EQ(back.copied.size(), 1u) << "only the destination's own backup";
  EXPECT_EQ(back.already_there.size(), 2u);
}

TEST_F(Copy, NamedSnapshotsFiltersAndDryRun) {
  two_snapshots();
  auto dst = make_dest(true);
  CopyOptions dry;
  dry.dry_run = true;
  auto before = objects(*dst);
  auto plan = copy_ok(*repo_, *dst, dry);
  EXPECT_EQ(plan.copied.size(), 2u);
  EXPECT_EQ(objects(*dst), before);
  EXPECT_TRUE(dst->list_names("locks/")->empty());

  CopyOptions one;
  one.snapshots = {second_.id.hex().substr(0, 8)};
  auto r = copy_ok(*repo_, *dst, one);
  ASSERT_EQ(r.copied.size(), 1u);
  EXPECT_EQ(r.copied[0].source, second_.id);
  CopyOptions other_host;
  other_host.filter.hosts = {"elsewhere"};
  EXPECT_TRUE(copy_ok(*repo_, *dst, other_host).copied.empty());
}

TEST_F(Copy, RefusesTheSameRepositoryAndUnknownSnapshots) {
  two_snapshots();
  auto same = copy(*repo_, *repo_, {}, ctx_);
  ASSERT_FALSE(same.is_ok());
  EXPECT_EQ(same.status().code(), ErrorCode::kInvalidArgument);
  auto dst = make_dest(true);
  CopyOptions o;
  o.snapshots = {"deadbeef"};
  auto r = copy(*repo_, *dst, o, ctx_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_TRUE(dst->list_names("snapshots/")->empty());
}

TEST_F(Copy, IsAuditedInTheDestination) {
  two_snapshots();
  auto dst = make_dest(true);
  size_t before = dst->list_names("log/")->size();
  copy_ok(*repo_, *dst);
  EXPECT_EQ(dst->list_names("log/")->size(), before + 2);
}

}  // namespace
}  // namespace lifeboat::ops
