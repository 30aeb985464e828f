#include "ops/restore.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "ops/ls.h"
#include "unit/ops_fixture.h"
#include "util/utf8.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::compare_trees;
using lifeboat::testing::OpsTest;

class Restore : public OpsTest {
 protected:
  RestoreOptions options(const std::string& target) {
    RestoreOptions o;
    o.target = target;
    o.workers = 2;
    return o;
  }
  repo::Node node_at(const repo::Snapshot& s, const std::string& path) {
    repo::Node found;
    Status st = ls(*repo_, s, {.path = path, .recursive = false}, [&](const std::string& p, const repo::Node& n) {
      if (p == path) found = n;
    });
    EXPECT_TRUE(st.is_ok()) << st.message();
    return found;
  }
  // Flips a byte inside the sealed blob `id` in its pack file on disk.
  void damage_blob(const repo::Id& id) {
    auto loc = repo_->index().lookup(id);
    ASSERT_TRUE(loc);
    std::string path = dir_ / "repo" + "/" + repo::pack_name(loc->pack_id);
    int fd = ::open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0) << path;
    uint8_t b;
    off_t at = static_cast<off_t>(loc->entry.offset + repo::kEnvelopeHeader + 3);
    ASSERT_EQ(::pread(fd, &b, 1, at), 1);
    b ^= 0x10;
    ASSERT_EQ(::pwrite(fd, &b, 1, at), 1);
    ::close(fd);
  }
};

TEST_F(Restore, RestoresAnIdenticalTree) {
  auto b = backup();
  std::string target = dir_ / "restore";
  auto r = restore(*repo_, b.snapshot, options(target), ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->errors, std::vector<std::string>{});
  EXPECT_EQ(r->warnings, std::vector<std::string>{});
  EXPECT_EQ(r->files, 9u);
  EXPECT_EQ(r->others, 2u);  // the symlink and the FIFO
  EXPECT_EQ(compare_trees(src_, restored(target, src_)), std::vector<std::string>{});
  auto locks = repo_->list_names("locks/");
  ASSERT_TRUE(locks.is_ok());
  EXPECT_TRUE(locks->empty());
}

TEST_F(Restore, IntoANonEmptyTargetReplacesEntries) {
  auto b = backup();
  std::string target = dir_ / "restore";
  ASSERT_TRUE(restore(*repo_, b.snapshot, options(target), ctx_).is_ok());
  lifeboat::testing::write_file(restored(target, src_) + "/a.txt", "scribbled over");
  ASSERT_EQ(::unlink((restored(target, src_) + "/link").c_str()), 0);
  lifeboat::testing::write_file(restored(target, src_) + "/link", "now a file");
  auto again = restore(*repo_, b.snapshot, options(target), ctx_);
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ(again->errors, std::vector<std::string>{});
  EXPECT_EQ(compare_trees(src_, restored(target, src_)), std::vector<std::string>{});
}

TEST_F(Restore, IncludeSelectsASubtree) {
  auto b = backup();
  std::string target = dir_ / "restore";
  auto o = options(target);
  o.includes = {src_ + "/dir"};
  auto r = restore(*repo_, b.snapshot, o, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->errors, std::vector<std::string>{});
  EXPECT_EQ(compare_trees(src_ + "/dir", restored(target, src_) + "/dir"), std::vector<std::string>{});
  EXPECT_EQ(lifeboat::testing::dir_entries(restored(target, src_)), std::vector<std::string>{"dir"});
}

TEST_F(Restore, UnanchoredIncludeMatchesByName) {
  auto b = backup();
  std::string target = dir_ / "restore";
  auto o = options(target);
  o.includes = {"*.txt"};
  auto r = restore(*repo_, b.snapshot, o, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(lifeboat::testing::read_file(restored(target, src_) + "/a.txt"), "hello world\n");
  EXPECT_EQ(lifeboat::testing::read_file(restored(target, src_) + "/dir/deeper/x.txt"), "x");
  struct stat st;
  EXPECT_NE(::lstat((restored(target, src_) + "/big.bin").c_str(), &st), 0);
}

TEST_F(Restore, IncludeMatchingNothingIsNotFound) {
  auto b = backup();
  auto o = options(dir_ / "restore");
  o.includes = {"/no/such/path"};
  auto r = restore(*repo_, b.snapshot, o, ctx_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(), "nothing in the snapshot matches the --include patterns");
}

TEST_F(Restore, BadTargets) {
  auto b = backup();
  auto none = restore(*repo_, b.snapshot, options(""), ctx_);
  EXPECT_EQ(none.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(none.status().message(), "no target: give --target DIR");
  lifeboat::testing::write_file(dir_ / "a-file", "x");
  auto file = restore(*repo_, b.snapshot, options(dir_ / "a-file"), ctx_);
  EXPECT_EQ(file.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(file.status().message(), "restore target " + dir_ / "a-file" + " is not a directory");
}

// A blob that fails authentication is never written; the file is reported
// and everything else is restored.
TEST_F(Restore, DamagedBlobIsReportedAndNotWritten) {
  auto b = backup();
  repo::Node big = node_at(b.snapshot, src_ + "/big.bin");
  ASSERT_GT(big.content.size(), 2u);
  auto clean = restore(*repo_, b.snapshot, options(dir_ / "restore-before"), ctx_);
  ASSERT_TRUE(clean.is_ok());
  damage_blob(big.content[1]);
  std::string target = dir_ / "restore";
  auto r = restore(*repo_, b.snapshot, options(target), ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  auto loc = repo_->index().lookup(big.content[1]);
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0], "unable to restore " + escape_name(restored(target, src_) + "/big.bin") + ": blob " +
                              big.content[1].short_hex() + " in pack " + loc->pack_id.short_hex() +
                              " is damaged (authentication failed (data was modified or the key is wrong))");
  auto diffs = compare_trees(src_, restored(target, src_));
  for (const auto& d : diffs) EXPECT_NE(d.find("big.bin"), std::string::npos) << d;
  // The incomplete file is not left behind, and not counted as restored.
  std::string path = restored(target, src_) + "/big.bin";
  struct stat st;
  EXPECT_NE(::lstat(path.c_str(), &st), 0) << "the incomplete file was left in place";
  EXPECT_EQ(r->files + 1, clean->files);
  EXPECT_EQ(r->bytes + big.size, clean->bytes);
}

TEST_F(Restore, MissingBlobIsReported) {
  auto b = backup();
  repo::Node a = node_at(b.snapshot, src_ + "/a.txt");
  ASSERT_EQ(a.content.size(), 1u);
  // A repository that lost the pack holding a.txt (and the index says so).
  auto loc = repo_->index().lookup(a.content[0]);
  ASSERT_TRUE(loc);
  ASSERT_TRUE(repo_->remove(repo::pack_name(loc->pack_id)).is_ok());
  auto r = restore(*repo_, b.snapshot, options(dir_ / "restore"), ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_FALSE(r->errors.empty());
  bool named = false;
  for (const auto& e : r->errors) named = named || e.find("/a.txt") != std::string::npos;
  EXPECT_TRUE(named) << ::testing::PrintToString(r->errors);
}

}  // namespace
}  // namespace lifeboat::ops
