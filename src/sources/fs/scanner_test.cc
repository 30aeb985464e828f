#include "sources/fs/scanner.h"

#include <thread>

#include <gtest/gtest.h>

#include "unit/fs_helpers.h"
#include "unit/test_util.h"

namespace lifeboat::sources::fs {
namespace {

using lifeboat::testing::TempDir;

std::vector<ScannedDir> scan(const std::vector<std::string>& targets, const ExcludeMatcher* excludes = nullptr,
                             std::vector<std::string>* warnings = nullptr) {
  BoundedQueue<ScannedDir> out(4);  // small: the scanner must wait for the consumer
  OwnerNames owners;
  Scanner::Options o;
  o.targets = targets;
  o.excludes = excludes;
  Scanner scanner(o, out, owners);
  std::thread t([&] { scanner.run(); });
  std::vector<ScannedDir> dirs;
  while (auto d = out.pop()) dirs.push_back(std::move(*d));
  t.join();
  if (warnings) *warnings = scanner.take_warnings();
  return dirs;
}

std::vector<std::string> names_of(const ScannedDir& d) {
  std::vector<std::string> n;
  for (const auto& c : d.children) n.push_back(c.name);
  return n;
}

TEST(Scanner, VirtualRootThenPreOrderListings) {
  TempDir dir;
  std::string src = dir / "src";
  lifeboat::testing::make_sample_tree(src);
  std::vector<std::string> warnings;
  auto dirs = scan({src}, nullptr, &warnings);
  EXPECT_EQ(warnings, std::vector<std::string>{});
  std::vector<std::string> paths;
  for (const auto& d : dirs) paths.push_back(d.path);
  // "/" and the directories on the way hold only the path to the target.
  ASSERT_GE(dirs.size(), 6u);
  EXPECT_EQ(paths[0], "/");
  EXPECT_EQ(names_of(dirs[0]), std::vector<std::string>{"tmp"});
  EXPECT_EQ(names_of(dirs[1]), std::vector<std::string>{dir.path().substr(5)});
  std::vector<std::string> tail(paths.end() - 5, paths.end());
  EXPECT_EQ(tail, (std::vector<std::string>{dir.path(), src, src + "/dir", src + "/dir/deeper", src + "/empty_dir"}));
  const ScannedDir& s = dirs[dirs.size() - 4];
  EXPECT_EQ(names_of(s), (std::vector<std::string>{"a.txt", "big.bin", "dir", "empty_dir", "fifo", "hard", "link",
                                                   "odd\xff name\nnewline", "script.sh", "zeros.bin"}));
  ASSERT_EQ(s.enter.size(), s.children.size());
  for (size_t i = 0; i < s.children.size(); ++i)
    EXPECT_EQ(s.enter[i], s.children[i].type == repo::NodeType::kDir) << s.children[i].name;
  EXPECT_EQ(s.children[0].size, 12u);
  EXPECT_EQ(s.children[0].mtime_ns, 1500000000'123456789);
  EXPECT_TRUE(s.children[0].content.empty()) << "the scanner never reads contents";
}

TEST(Scanner, ExcludedEntriesAreLeftOutAndNotEntered) {
  TempDir dir;
  std::string src = dir / "src";
  lifeboat::testing::make_sample_tree(src);
  ExcludeMatcher ex;
  ex.add("*.bin");
  ex.add(src + "/dir");
  auto dirs = scan({src}, &ex);
  const ScannedDir& s = dirs.back().path == src + "/empty_dir" ? dirs[dirs.size() - 2] : dirs.back();
  ASSERT_EQ(s.path, src);
  auto names = names_of(s);
  EXPECT_EQ(std::count(names.begin(), names.end(), "big.bin"), 0);
  EXPECT_EQ(std::count(names.begin(), names.end(), "dir"), 0);
  for (const auto& d : dirs) EXPECT_FALSE(d.path.starts_with(src + "/dir")) << d.path;
}

TEST(Scanner, SeveralTargetsShareTheirParents) {
  TempDir dir;
  lifeboat::testing::make_sample_tree(dir / "src");
  auto dirs = scan({dir / "src/dir/deeper", dir / "src/empty_dir"});
  std::vector<std::string> paths;
  for (const auto& d : dirs) paths.push_back(d.path);
  auto it = std::find(paths.begin(), paths.end(), dir / "src");
  ASSERT_NE(it, paths.end());
  const ScannedDir& src = dirs[static_cast<size_t>(it - paths.begin())];
  EXPECT_EQ(names_of(src), (std::vector<std::string>{"dir", "empty_dir"})) << "only the way to the targets";
  EXPECT_EQ(std::count(paths.begin(), paths.end(), dir / "src/dir/deeper"), 1);
  EXPECT_EQ(paths.back(), dir / "src/empty_dir");
}

}  // namespace
}  // namespace lifeboat::sources::fs
