#include "sources/fs/exclude.h"

#include <gtest/gtest.h>

#include "unit/test_util.h"

namespace lifeboat::sources::fs {
namespace {

ExcludeMatcher with(std::initializer_list<const char*> patterns) {
  ExcludeMatcher m;
  for (const char* p : patterns) m.add(p);
  return m;
}

TEST(ExcludeMatcher, EmptyExcludesNothing) {
  ExcludeMatcher m;
  EXPECT_TRUE(m.empty());
  EXPECT_FALSE(m.excluded("/"));
  EXPECT_FALSE(m.excluded("/home/a.tmp"));
}

TEST(ExcludeMatcher, UnanchoredMatchesAnyComponent) {
  auto m = with({"*.tmp"});
  EXPECT_FALSE(m.empty());
  EXPECT_TRUE(m.excluded("/x.tmp"));
  EXPECT_TRUE(m.excluded("/home/a/b/x.tmp"));
  EXPECT_TRUE(m.excluded("/home/dir.tmp"));  // a directory: the scanner does not enter it
  EXPECT_FALSE(m.excluded("/home/a/x.tmp.keep"));
  EXPECT_FALSE(m.excluded("/home/a/tmp"));
  EXPECT_FALSE(m.excluded("/home/a/xtmp"));
}

TEST(ExcludeMatcher, UnanchoredMultiComponent) {
  auto m = with({"cache/*", "node_modules"});
  EXPECT_TRUE(m.excluded("/home/u/cache/x"));
  EXPECT_FALSE(m.excluded("/home/u/cache"));
  EXPECT_FALSE(m.excluded("/home/u/mycache/x"));
  EXPECT_TRUE(m.excluded("/node_modules"));
  EXPECT_TRUE(m.excluded("/src/app/node_modules"));
  EXPECT_FALSE(m.excluded("/src/app/node_modules2"));
}

TEST(ExcludeMatcher, AnchoredMatchesFromTheRoot) {
  auto m = with({"/a/b"});
  EXPECT_TRUE(m.excluded("/a/b"));
  EXPECT_FALSE(m.excluded("/x/a/b"));
  EXPECT_FALSE(m.excluded("/a/bc"));
  EXPECT_FALSE(m.excluded("/a"));
  auto trailing = with({"/a/b/"});
  EXPECT_TRUE(trailing.excluded("/a/b"));
}

TEST(ExcludeMatcher, StarDoesNotCrossSlash) {
  auto m = with({"/home/*/secret"});
  EXPECT_TRUE(m.excluded("/home/alice/secret"));
  EXPECT_FALSE(m.excluded("/home/alice/x/secret"));
  EXPECT_FALSE(m.excluded("/home/secret"));
}

TEST(ExcludeMatcher, DoubleStarMatchesAnyNumberOfComponents) {
  auto m = with({"/home/**/*.log"});
  EXPECT_TRUE(m.excluded("/home/a.log"));
  EXPECT_TRUE(m.excluded("/home/u/a.log"));
  EXPECT_TRUE(m.excluded("/home/u/v/w/a.log"));
  EXPECT_FALSE(m.excluded("/var/log/a.log"));
  EXPECT_FALSE(m.excluded("/home/u/a.log.1"));
  auto git = with({"**/.git"});
  EXPECT_TRUE(git.excluded("/.git"));
  EXPECT_TRUE(git.excluded("/src/project/.git"));
  EXPECT_FALSE(git.excluded("/src/project/.gitignore"));
}

TEST(ExcludeMatcher, CharacterClassesAndQuestionMark) {
  auto m = with({"[ab]?.txt"});
  EXPECT_TRUE(m.excluded("/d/a1.txt"));
  EXPECT_TRUE(m.excluded("/d/bz.txt"));
  EXPECT_FALSE(m.excluded("/d/c1.txt"));
  EXPECT_FALSE(m.excluded("/d/a12.txt"));
}

TEST(ExcludeMatcher, PatternsKeepTheirOrder) {
  auto m = with({"*.tmp", "/a/b", "**"});
  EXPECT_EQ(m.patterns(), (std::vector<std::string>{"*.tmp", "/a/b", "**"}));
}

TEST(ExcludeMatcher, ExcludeFileWithCommentsAndBlanks) {
  lifeboat::testing::TempDir dir;
  lifeboat::testing::write_file(dir / "excludes",
                                "# caches\n"
                                "\n"
                                "   *.tmp   \n"
                                "\t/var/cache\r\n"
                                "  # indented comment\n"
                                "node_modules\n");
  ExcludeMatcher m;
  ASSERT_TRUE(m.add_file(dir / "excludes").is_ok());
  EXPECT_EQ(m.patterns(), (std::vector<std::string>{"*.tmp", "/var/cache", "node_modules"}));
  EXPECT_TRUE(m.excluded("/home/x.tmp"));
  EXPECT_TRUE(m.excluded("/var/cache"));
  EXPECT_TRUE(m.excluded("/p/node_modules"));
  EXPECT_FALSE(m.excluded("/home/# caches"));
  EXPECT_FALSE(m.excluded("/home/caches"));
}

TEST(ExcludeMatcher, MissingExcludeFileIsAnError) {
  ExcludeMatcher m;
  Status s = m.add_file("/nonexistent/lifeboat-excludes");
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "unable to read exclude file /nonexistent/lifeboat-excludes");
}

}  // namespace
}  // namespace lifeboat::sources::fs
