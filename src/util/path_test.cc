#include "util/path.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

TEST(AbsolutePath, JoinsRelativePathsToWorkingDir) {
  EXPECT_EQ(absolute_path("a/b", "/home/u"), "/home/u/a/b");
  EXPECT_EQ(absolute_path("a", "/"), "/a");
  EXPECT_EQ(absolute_path("", "/home/u"), "/home/u");
  EXPECT_EQ(absolute_path(".", "/home/u/"), "/home/u");
}

TEST(AbsolutePath, KeepsAbsolutePaths) {
  EXPECT_EQ(absolute_path("/etc/passwd", "/home/u"), "/etc/passwd");
  EXPECT_EQ(absolute_path("/", "/home/u"), "/");
}

TEST(AbsolutePath, RemovesDotsAndRepeatedOrTrailingSlashes) {
  EXPECT_EQ(absolute_path("/a/./b//c/", "/w"), "/a/b/c");
  EXPECT_EQ(absolute_path("//a///b", "/w"), "/a/b");
  EXPECT_EQ(absolute_path("./x/.", "/w//y/"), "/w/y/x");
}

TEST(AbsolutePath, ResolvesDotDotLexically) {
  EXPECT_EQ(absolute_path("../x", "/home/u"), "/home/x");
  EXPECT_EQ(absolute_path("a/../../b", "/w/x"), "/w/b");
  EXPECT_EQ(absolute_path("/a/b/../c", "/w"), "/a/c");
  // ".." never climbs above the root.
  EXPECT_EQ(absolute_path("..", "/"), "/");
  EXPECT_EQ(absolute_path("/../../etc", "/w"), "/etc");
  EXPECT_EQ(absolute_path("../../../..", "/a/b"), "/");
}

TEST(AbsolutePath, KeepsNamesThatOnlyLookLikeDots) {
  EXPECT_EQ(absolute_path("/a/.../b", "/"), "/a/.../b");
  EXPECT_EQ(absolute_path("/a/.hidden/..x", "/"), "/a/.hidden/..x");
}

}  // namespace
}  // namespace lifeboat
