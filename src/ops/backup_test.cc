#include "ops/backup.h"

#include <gtest/gtest.h>

#include "ops/ls.h"
#include "ops/restore.h"
#include "ops/tree_walk.h"
#include "unit/ops_fixture.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::OpsTest;

class Backup : public OpsTest {
 protected:
  // Paths and nodes of a snapshot, below the source directory.
  std::map<std::string, repo::Node> entries(const repo::Snapshot& s) {
    std::map<std::string, repo::Node> out;
    Status st = ls(*repo_, s, {.path = src_, .recursive = true},
                   [&](const std::string& path, const repo::Node& n) { out[path] = n; });
    EXPECT_TRUE(st.is_ok()) << st.message();
    return out;
  }
  std::optional<repo::Id> subtree_of(const repo::Snapshot& s, const std::string& dir) {
    std::optional<repo::Id> id;
    Status st = walk_tree(*repo_, s.tree, "/", [&](const std::string& path, const repo::Node& n) {
      if (path == dir) {
        id = n.subtree;
        return Visit::kStop;
      }
      return Visit::kDescend;
    });
    EXPECT_TRUE(st.is_ok()) << st.message();
    return id;
  }
};

TEST_F(Backup, RecordsTheTree) {
  auto r = backup();
  const repo::Snapshot& s = r.snapshot;
  EXPECT_FALSE(s.id.is_zero());
  EXPECT_EQ(s.paths, std::vector<std::string>{src_});
  EXPECT_EQ(s.hostname, "test-host");
  EXPECT_EQ(s.username, "tester");
  EXPECT_EQ(s.kind, "files");
  EXPECT_FALSE(s.parent);
  auto loaded = repo_->load_snapshot(s.id);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  EXPECT_EQ(loaded->tree, s.tree);

  auto e = entries(s);
  ASSERT_TRUE(e.count(src_ + "/a.txt"));
  const repo::Node& a = e[src_ + "/a.txt"];
  EXPECT_EQ(a.type, repo::NodeType::kFile);
  EXPECT_EQ(a.size, 12u);
  EXPECT_EQ(a.mtime_ns, 1500000000'123456789);
  EXPECT_EQ(a.content.size(), 1u);
  EXPECT_EQ(e[src_ + "/link"].type, repo::NodeType::kSymlink);
  EXPECT_EQ(e[src_ + "/link"].link_target, "a.txt");
  EXPECT_EQ(e[src_ + "/fifo"].type, repo::NodeType::kFifo);
  EXPECT_EQ(e[src_ + "/dir"].type, repo::NodeType::kDir);
  EXPECT_EQ(e[src_ + "/dir"].mode, 0750u);
  EXPECT_EQ(e[src_ + "/script.sh"].mode, 0755u);
  EXPECT_TRUE(e.count(src_ + "/odd\xff name\nnewline"));
  EXPECT_TRUE(e[src_ + "/dir/empty.txt"].content.empty());
  EXPECT_GT(e[src_ + "/big.bin"].content.size(), 10u) << "200 KiB in chunks of ~4 KiB";
  EXPECT_EQ(e[src_ + "/hard"].inode, e[src_ + "/dir/nested.txt"].inode);
  EXPECT_EQ(e[src_ + "/hard"].links, 2u);

  const auto& m = s.summary;
  EXPECT_EQ(m.files_new, 9u);
  EXPECT_EQ(m.files_changed, 0u);
  EXPECT_EQ(m.files_unmodified, 0u);
  EXPECT_EQ(m.total_files_processed, 9u);
  EXPECT_EQ(m.total_bytes_processed, 12u + 200 * 1024 + 100 * 1024 + 18 + 3 + 12 + 0 + 1 + 12);
  EXPECT_EQ(m.errors, 0u);
  EXPECT_GT(m.data_blobs, 10u);
  EXPECT_GT(m.data_added, 0u);
}

// Every blob a snapshot names is in the index: nothing dangles.
TEST_F(Backup, EveryBlobIsIndexed) {
  auto r = backup();
  size_t files = 0;
  Status s = walk_tree(*repo_, r.snapshot.tree, "/", [&](const std::string& path, const repo::Node& n) {
    for (const auto& id : n.content) EXPECT_TRUE(repo_->index().lookup(id)) << path;
    if (n.subtree) {
      EXPECT_TRUE(repo_->index().lookup(*n.subtree)) << path;
    }
    if (n.type == repo::NodeType::kFile) files++;
    return Visit::kDescend;
  });
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(files, 9u);
}

TEST_F(Backup, ZeroChunksDeduplicate) {
  auto r = backup();
  auto e = entries(r.snapshot);
  const auto& zeros = e[src_ + "/zeros.bin"].content;
  ASSERT_GE(zeros.size(), 6u);  // 100 KiB cut at the 16 KiB maximum
  EXPECT_EQ(zeros[0], zeros[1]);
  EXPECT_EQ(zeros[1], zeros[2]);
}

TEST_F(Backup, SecondBackupWithCacheReadsNothingNew) {
  auto first = backup();
  BackupProgress progress;
  auto r = ops::backup(*repo_, backup_options(), ctx_, &progress);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const auto& m = r->snapshot.summary;
  EXPECT_EQ(m.files_unmodified, 9u);
  EXPECT_EQ(m.files_new, 0u);
  EXPECT_EQ(m.files_changed, 0u);
  EXPECT_EQ(m.data_blobs, 0u);
  EXPECT_EQ(progress.files_done.load(), 9u);
  EXPECT_EQ(r->snapshot.parent, first.snapshot.id);
  EXPECT_GT(r->snapshot.time_ns, first.snapshot.time_ns);
  // The files' content ids come from the cache and match the first backup.
  auto a = entries(first.snapshot), b = entries(r->snapshot);
  EXPECT_EQ(a[src_ + "/big.bin"].content, b[src_ + "/big.bin"].content);
}

// DESIGN.md: "an unchanged directory dedups to the same id". Backing up an
// unchanged source twice must give the same tree for it (the directories
// above it may change: /tmp is shared with other processes).
TEST_F(Backup, UnchangedSourceGivesTheSameTree) {
  auto first = backup();
  auto second = backup();
  auto a = entries(first.snapshot), b = entries(second.snapshot);
  std::vector<std::string> changed;
  for (auto& [path, node] : a) {
    repo::Node x = node, y = b[path];
    x.subtree.reset();  // a changed child shows as itself, not as its parents
    y.subtree.reset();
    if (!(x == y)) changed.push_back(path);
  }
  EXPECT_EQ(changed, std::vector<std::string>{}) << "entries whose metadata changed between two backups";
  EXPECT_EQ(subtree_of(second.snapshot, src_), subtree_of(first.snapshot, src_));
  EXPECT_GE(second.snapshot.summary.dirs_unmodified, 4u) << "src, dir, dir/deeper and empty_dir are unmodified";
}

// A backup must not modify its source (backup.cc opens files with
// O_NOATIME for that reason). Linux has no O_NOATIME for readlink(), so a
// symlink's atime may move once when its target is read; the snapshot then
// records the atime the link has after the backup, which is what a restore
// reproduces and what the next backup sees.
TEST_F(Backup, DoesNotChangeSourceAtimes) {
  struct stat before_file, after_link, after_file;
  ASSERT_EQ(::lstat((src_ + "/big.bin").c_str(), &before_file), 0);
  auto first = backup();
  ASSERT_EQ(::lstat((src_ + "/link").c_str(), &after_link), 0);
  ASSERT_EQ(::lstat((src_ + "/big.bin").c_str(), &after_file), 0);
  EXPECT_EQ(after_file.st_atim.tv_sec, before_file.st_atim.tv_sec);
  EXPECT_EQ(after_file.st_atim.tv_nsec, before_file.st_atim.tv_nsec);
  auto all = entries(first.snapshot);
  const repo::Node& link = all[src_ + "/link"];
  EXPECT_EQ(link.atime_ns, int64_t{after_link.st_atim.tv_sec} * 1'000'000'000 + after_link.st_atim.tv_nsec)
      << "the recorded symlink atime is not the one the link has after the backup";
}

TEST_F(Backup, WithoutCacheEverythingIsReadButNothingStored) {
  auto o = backup_options();
  o.cache_root.clear();
  auto first = backup(o);
  auto second = backup(o);
  EXPECT_EQ(second.snapshot.summary.files_unmodified, 0u);
  EXPECT_EQ(second.snapshot.summary.files_new + second.snapshot.summary.files_changed, 9u);
  EXPECT_EQ(second.snapshot.summary.data_blobs, 0u) << "deduplicated";
}

TEST_F(Backup, ChangedFileIsReadAgain) {
  backup();
  lifeboat::testing::write_file(src_ + "/a.txt", "hello world, changed\n");
  lifeboat::testing::write_file(src_ + "/new.txt", "new");
  auto second = backup();
  const auto& m = second.snapshot.summary;
  EXPECT_EQ(m.files_changed, 1u);
  EXPECT_EQ(m.files_new, 1u);
  EXPECT_EQ(m.files_unmodified, 8u);
  EXPECT_EQ(m.data_blobs, 2u);
  auto e = entries(second.snapshot);
  auto data = repo_->read_blob(e[src_ + "/a.txt"].content.at(0));
  ASSERT_TRUE(data.is_ok());
  EXPECT_EQ(to_string(*data), "hello world, changed\n");
}

TEST_F(Backup, Excludes) {
  lifeboat::testing::write_file(src_ + "/junk.tmp", "junk");
  lifeboat::testing::write_file(dir_ / "excludes", "# comment\n" + src_ + "/dir/deeper\n");
  auto o = backup_options();
  o.excludes = {"*.tmp"};
  o.exclude_files = {dir_ / "excludes"};
  auto r = backup(o);
  auto e = entries(r.snapshot);
  EXPECT_FALSE(e.count(src_ + "/junk.tmp"));
  EXPECT_FALSE(e.count(src_ + "/dir/deeper"));
  EXPECT_FALSE(e.count(src_ + "/dir/deeper/x.txt"));
  EXPECT_TRUE(e.count(src_ + "/dir/nested.txt"));
  EXPECT_EQ(r.snapshot.excludes, (std::vector<std::string>{"*.tmp", src_ + "/dir/deeper"}));
}

TEST_F(Backup, MissingPathIsAnError) {
  auto o = backup_options();
  o.paths = {dir_ / "does-not-exist"};
  auto r = ops::backup(*repo_, o, ctx_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(), "cannot back up " + dir_ / "does-not-exist" + ": No such file or directory");
  EXPECT_TRUE(repo_->list_snapshot_ids()->empty());
}

TEST_F(Backup, NoPathsIsAnError) {
  auto o = backup_options();
  o.paths.clear();
  auto r = ops::backup(*repo_, o, ctx_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "nothing to back up: give at least one path");
}

TEST_F(Backup, RelativePathsUseTheWorkingDirectory) {
  auto o = backup_options();
  o.paths = {"src/dir/../dir"};
  o.working_dir = source_dir_.path();
  auto r = backup(o);
  EXPECT_EQ(r.snapshot.paths, std::vector<std::string>{src_ + "/dir"});
}

TEST_F(Backup, CancelledBackupWritesNoSnapshot) {
  CancelToken cancel;
  cancel.cancel();
  ctx_.cancel = &cancel;
  auto r = ops::backup(*repo_, backup_options(), ctx_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kCancelled);
  EXPECT_EQ(r.status().exit_code(), 130);
  EXPECT_TRUE(repo_->list_snapshot_ids()->empty());
  auto locks = repo_->list_names("locks/");
  ASSERT_TRUE(locks.is_ok());
  EXPECT_TRUE(locks->empty()) << "the lock is released";
}

TEST_F(Backup, SingleFileTarget) {
  auto o = backup_options();
  o.paths = {src_ + "/a.txt"};
  auto r = backup(o);
  auto e = entries(r.snapshot);
  std::vector<std::string> paths;
  for (const auto& [path, node] : e) paths.push_back(path);
  EXPECT_EQ(paths, (std::vector<std::string>{src_, src_ + "/a.txt"})) << "the file and the directory on its way";
  EXPECT_EQ(r.snapshot.summary.files_new, 1u);
}

// A target inside another target is backed up once: the tree has no
// duplicate entries (which would make it unreadable).
TEST_F(Backup, NestedTargetsAreRecordedOnce) {
  auto o = backup_options();
  o.paths = {src_ + "/dir", src_, src_ + "/dir/"};
  auto r = backup(o);
  EXPECT_EQ(r.snapshot.paths, (std::vector<std::string>{src_, src_ + "/dir"}));
  auto e = entries(r.snapshot);
  EXPECT_TRUE(e.count(src_ + "/dir/nested.txt"));
  EXPECT_TRUE(e.count(src_ + "/a.txt"));
  EXPECT_EQ(r.snapshot.summary.total_files_processed, 9u);
}

}  // namespace
}  // namespace lifeboat::ops
