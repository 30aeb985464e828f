#include "ops/diff.h"

#include <map>

#include <gtest/gtest.h>

#include "unit/ops_fixture.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::OpsTest;

class Diff : public OpsTest {
 protected:
  // Events for paths at or below the source directory (the directories
  // above it belong to the test machine).
  std::map<std::string, char> run(const repo::Snapshot& a, const repo::Snapshot& b, DiffStats* stats = nullptr) {
    std::map<std::string, char> out;
    auto r = diff(*repo_, a, b, [&](Change c, const std::string& path, const repo::Node* before, const repo::Node* after) {
      bool want_before = c != Change::kAdded, want_after = c != Change::kRemoved;
      EXPECT_EQ(before != nullptr, want_before) << path;
      EXPECT_EQ(after != nullptr, want_after) << path;
      if (path == src_ || path.starts_with(src_ + "/")) {
        EXPECT_FALSE(out.count(path)) << "reported twice: " << path;
        out[path] = static_cast<char>(c);
      }
    });
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    if (stats && r.is_ok()) *stats = *r;
    return out;
  }
};

TEST_F(Diff, IdenticalSnapshotsHaveNoChanges) {
  auto a = backup();
  int events = 0;
  auto r = diff(*repo_, a.snapshot, a.snapshot, [&](Change, const std::string&, const repo::Node*, const repo::Node*) {
    events++;
  });
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(events, 0);
}

TEST_F(Diff, ReportsAddedRemovedModifiedMetadataAndType) {
  auto first = backup();
  lifeboat::testing::write_file(src_ + "/a.txt", "different content\n");
  ASSERT_EQ(::unlink((src_ + "/dir/empty.txt").c_str()), 0);
  lifeboat::testing::write_file(src_ + "/new.txt", "new");
  ASSERT_EQ(::chmod((src_ + "/script.sh").c_str(), 0700), 0);
  ASSERT_EQ(::unlink((src_ + "/link").c_str()), 0);
  lifeboat::testing::write_file(src_ + "/link", "a file now");
  ASSERT_EQ(::mkdir((src_ + "/new_dir").c_str(), 0755), 0);
  lifeboat::testing::write_file(src_ + "/new_dir/inner.txt", "inner");
  auto second = backup();

  DiffStats stats;
  auto events = run(first.snapshot, second.snapshot, &stats);
  std::map<std::string, char> expected = {
      {src_, 'U'},                       // its listing changed: mtime
      {src_ + "/a.txt", 'M'},
      {src_ + "/dir", 'U'},
      {src_ + "/dir/empty.txt", '-'},
      {src_ + "/link", 'T'},
      {src_ + "/new.txt", '+'},
      {src_ + "/new_dir", '+'},
      {src_ + "/new_dir/inner.txt", '+'},
      {src_ + "/script.sh", 'U'},
  };
  EXPECT_EQ(events, expected);
  EXPECT_EQ(stats.added, 3u);
  EXPECT_EQ(stats.removed, 1u);
  EXPECT_EQ(stats.modified, 1u);
  EXPECT_EQ(stats.type_changed, 1u);
  EXPECT_GE(stats.metadata, 3u);
  EXPECT_EQ(stats.added_bytes, 3u + 5u);
  EXPECT_EQ(stats.removed_bytes, 0u);

  // The other way round, additions and removals swap.
  auto back = run(second.snapshot, first.snapshot);
  EXPECT_EQ(back[src_ + "/new.txt"], '-');
  EXPECT_EQ(back[src_ + "/new_dir/inner.txt"], '-');
  EXPECT_EQ(back[src_ + "/dir/empty.txt"], '+');
  EXPECT_EQ(back[src_ + "/a.txt"], 'M');
}

TEST_F(Diff, RemovedDirectoryReportsEverythingBelowIt) {
  auto first = backup();
  lifeboat::testing::remove_tree(src_ + "/dir");
  auto second = backup();
  auto events = run(first.snapshot, second.snapshot);
  EXPECT_EQ(events[src_ + "/dir"], '-');
  EXPECT_EQ(events[src_ + "/dir/nested.txt"], '-');
  EXPECT_EQ(events[src_ + "/dir/deeper"], '-');
  EXPECT_EQ(events[src_ + "/dir/deeper/x.txt"], '-');
  EXPECT_EQ(events[src_ + "/dir/empty.txt"], '-');
}

}  // namespace
}  // namespace lifeboat::ops
