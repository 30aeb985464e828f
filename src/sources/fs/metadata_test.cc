#include "sources/fs/metadata.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include "unit/test_util.h"

namespace lifeboat::sources::fs {
namespace {

using lifeboat::testing::TempDir;
using repo::Node;

constexpr int64_t kNs = 1'000'000'000;

struct stat lstat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

int64_t ns(const struct timespec& t) { return int64_t{t.tv_sec} * kNs + t.tv_nsec; }

void set_times(const std::string& path, int64_t atime_ns, int64_t mtime_ns) {
  struct timespec ts[2] = {{static_cast<time_t>(atime_ns / kNs), static_cast<long>(atime_ns % kNs)},
                           {static_cast<time_t>(mtime_ns / kNs), static_cast<long>(mtime_ns % kNs)}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << std::strerror(errno);
}

// True if the file system under `dir` takes user.* extended attributes.
bool user_xattrs_supported(const std::string& file) {
  if (::lsetxattr(file.c_str(), "user.lifeboat-probe", "1", 1, 0) != 0) return false;
  ::lremovexattr(file.c_str(), "user.lifeboat-probe");
  return true;
}

Node node_of(const std::string& path) {
  OwnerNames names;
  Node n;
  Status s = fill_node(path, lstat_of(path), names, n);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return n;
}

TEST(FillNode, RegularFile) {
  TempDir dir;
  std::string f = dir / "file";
  lifeboat::testing::write_file(f, "hello");
  ASSERT_EQ(::chmod(f.c_str(), 04751), 0);
  set_times(f, 1600000000 * kNs + 111, 1500000000 * kNs + 123456789);
  Node n = node_of(f);
  struct stat st = lstat_of(f);
  EXPECT_EQ(n.type, repo::NodeType::kFile);
  EXPECT_EQ(n.mode, 04751u);
  EXPECT_EQ(n.size, 5u);
  EXPECT_EQ(n.mtime_ns, 1500000000 * kNs + 123456789);
  EXPECT_EQ(n.atime_ns, 1600000000 * kNs + 111);
  EXPECT_EQ(n.ctime_ns, ns(st.st_ctim));
  EXPECT_EQ(n.uid, ::getuid());
  EXPECT_EQ(n.gid, ::getgid());
  EXPECT_EQ(n.inode, st.st_ino);
  EXPECT_EQ(n.device, st.st_dev);
  EXPECT_EQ(n.links, 1u);
  EXPECT_FALSE(n.sparse);
  struct passwd* pw = ::getpwuid(::getuid());
  if (pw) {
    EXPECT_EQ(n.user, pw->pw_name);
  }
}

TEST(FillNode, HardLinksAreCounted) {
  TempDir dir;
  lifeboat::testing::write_file(dir / "a", "x");
  ASSERT_EQ(::link((dir / "a").c_str(), (dir / "b").c_str()), 0);
  Node a = node_of(dir / "a"), b = node_of(dir / "b");
  EXPECT_EQ(a.links, 2u);
  EXPECT_EQ(a.inode, b.inode);
  EXPECT_EQ(a.device, b.device);
}

TEST(FillNode, SymlinkIsNotFollowed) {
  TempDir dir;
  lifeboat::testing::write_file(dir / "target", "0123456789");
  std::string long_target(300, 'x');
  ASSERT_EQ(::symlink("target", (dir / "link").c_str()), 0);
  ASSERT_EQ(::symlink(long_target.c_str(), (dir / "dangling").c_str()), 0);
  Node n = node_of(dir / "link");
  EXPECT_EQ(n.type, repo::NodeType::kSymlink);
  EXPECT_EQ(n.link_target, "target");
  EXPECT_EQ(n.size, 0u);
  EXPECT_EQ(node_of(dir / "dangling").link_target, long_target);
}

TEST(FillNode, DirectoryAndFifo) {
  TempDir dir;
  ASSERT_EQ(::mkdir((dir / "d").c_str(), 0750), 0);
  ASSERT_EQ(::mkfifo((dir / "p").c_str(), 0600), 0);
  Node d = node_of(dir / "d");
  EXPECT_EQ(d.type, repo::NodeType::kDir);
  EXPECT_EQ(d.mode, 0750u);
  EXPECT_EQ(d.size, 0u);
  Node p = node_of(dir / "p");
  EXPECT_EQ(p.type, repo::NodeType::kFifo);
  EXPECT_EQ(p.mode, 0600u);
}

TEST(FillNode, SparseFile) {
  TempDir dir;
  std::string f = dir / "sparse";
  int fd = ::open(f.c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "end", 3, 64 << 20), 3);
  ::close(fd);
  struct stat st = lstat_of(f);
  if (static_cast<uint64_t>(st.st_blocks) * 512 >= static_cast<uint64_t>(st.st_size))
    GTEST_SKIP() << "the file system does not make holes";
  EXPECT_TRUE(looks_sparse(st));
  EXPECT_TRUE(node_of(f).sparse);
}

TEST(NodeTypeOf, MapsModes) {
  EXPECT_EQ(node_type_of(S_IFREG | 0644), repo::NodeType::kFile);
  EXPECT_EQ(node_type_of(S_IFDIR), repo::NodeType::kDir);
  EXPECT_EQ(node_type_of(S_IFLNK), repo::NodeType::kSymlink);
  EXPECT_EQ(node_type_of(S_IFIFO), repo::NodeType::kFifo);
  EXPECT_EQ(node_type_of(S_IFCHR), repo::NodeType::kCharDev);
  EXPECT_EQ(node_type_of(S_IFBLK), repo::NodeType::kBlockDev);
  EXPECT_EQ(node_type_of(S_IFSOCK), repo::NodeType::kSocket);
}

TEST(ApplyMetadata, ModeAndTimesToTheNanosecond) {
  TempDir dir;
  std::string f = dir / "file";
  lifeboat::testing::write_file(f, "content");
  Node n;
  n.type = repo::NodeType::kFile;
  n.mode = 0604;
  n.uid = ::getuid();
  n.gid = ::getgid();
  n.mtime_ns = 1500000000 * kNs + 987654321;
  n.atime_ns = 1400000000 * kNs + 1;
  Status s = apply_metadata(f, n, MetadataOptions{});
  ASSERT_TRUE(s.is_ok()) << s.message();
  struct stat st = lstat_of(f);
  EXPECT_EQ(st.st_mode & 07777, 0604u);
  EXPECT_EQ(ns(st.st_mtim), n.mtime_ns);
  EXPECT_EQ(ns(st.st_atim), n.atime_ns);
  // And back through fill_node.
  Node back = node_of(f);
  EXPECT_EQ(back.mtime_ns, n.mtime_ns);
  EXPECT_EQ(back.atime_ns, n.atime_ns);
  EXPECT_EQ(back.mode, n.mode);
}

TEST(ApplyMetadata, TimesBefore1970) {
  TempDir dir;
  std::string f = dir / "old";
  lifeboat::testing::write_file(f, "x");
  Node n;
  n.mode = 0600;
  n.mtime_ns = -1'500'000'000;  // 1969-12-31T23:59:58.5Z
  n.atime_ns = -1;
  ASSERT_TRUE(apply_metadata(f, n, {.owner = false}).is_ok());
  struct stat st = lstat_of(f);
  EXPECT_EQ(st.st_mtim.tv_sec, -2);
  EXPECT_EQ(st.st_mtim.tv_nsec, 500'000'000);
  EXPECT_EQ(node_of(f).mtime_ns, -1'500'000'000);
  EXPECT_EQ(node_of(f).atime_ns, -1);
}

TEST(ApplyMetadata, OnOpenFile) {
  TempDir dir;
  std::string f = dir / "file";
  lifeboat::testing::write_file(f, "x");
  Node n;
  n.mode = 0640;
  n.uid = ::getuid();
  n.gid = ::getgid();
  n.mtime_ns = 1234567890 * kNs + 42;
  n.atime_ns = 1234567890 * kNs + 43;
  int fd = ::open(f.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  Status s = apply_metadata_fd(fd, f, n, MetadataOptions{});
  ::close(fd);
  ASSERT_TRUE(s.is_ok()) << s.message();
  struct stat st = lstat_of(f);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(ns(st.st_mtim), n.mtime_ns);
  EXPECT_EQ(ns(st.st_atim), n.atime_ns);
}

TEST(ApplyMetadata, SymlinkTimesDoNotTouchTheTarget) {
  TempDir dir;
  lifeboat::testing::write_file(dir / "target", "x");
  ASSERT_EQ(::chmod((dir / "target").c_str(), 0600), 0);
  set_times(dir / "target", 1000 * kNs, 1000 * kNs);
  ASSERT_EQ(::symlink("target", (dir / "link").c_str()), 0);
  Node n;
  n.type = repo::NodeType::kSymlink;
  n.mode = 0777;
  n.mtime_ns = 2000 * kNs + 5;
  n.atime_ns = 2000 * kNs + 6;
  ASSERT_TRUE(apply_metadata(dir / "link", n, {.owner = false}).is_ok());
  EXPECT_EQ(ns(lstat_of(dir / "link").st_mtim), 2000 * kNs + 5);
  struct stat target = lstat_of(dir / "target");
  EXPECT_EQ(ns(target.st_mtim), 1000 * kNs);
  EXPECT_EQ(target.st_mode & 07777, 0600u) << "chmod must not follow the link";
}

TEST(ApplyMetadata, ReportsTheFirstFailure) {
  TempDir dir;
  std::string missing = dir / "missing";
  Node n;
  n.mode = 0600;
  Status s = apply_metadata(missing, n, {.owner = false});
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.message(), "unable to set permissions of " + missing + ": No such file or directory");
}

TEST(Xattrs, UserXattrsRoundTrip) {
  TempDir dir;
  std::string src = dir / "src", dst = dir / "dst";
  lifeboat::testing::write_file(src, "x");
  lifeboat::testing::write_file(dst, "y");
  if (!user_xattrs_supported(src)) GTEST_SKIP() << "no user.* xattrs on " << dir.path();
  std::string big(3000, 'v');  // past the reader's first buffer; ext4 takes up to a block
  std::string binary("\x00\xff\n\x01", 4);
  ASSERT_EQ(::lsetxattr(src.c_str(), "user.b", binary.data(), binary.size(), 0), 0);
  ASSERT_EQ(::lsetxattr(src.c_str(), "user.a", "1", 1, 0), 0);
  ASSERT_EQ(::lsetxattr(src.c_str(), "user.big", big.data(), big.size(), 0), 0);
  ASSERT_EQ(::lsetxattr(src.c_str(), "user.empty", "", 0, 0), 0);
  Node n = node_of(src);
  std::vector<repo::Xattr> user;
  for (const auto& x : n.xattrs)
    if (x.name.starts_with("user.")) user.push_back(x);
  ASSERT_EQ(user.size(), 4u);
  EXPECT_EQ(user[0], (repo::Xattr{"user.a", "1"}));
  EXPECT_EQ(user[1], (repo::Xattr{"user.b", binary}));
  EXPECT_EQ(user[2], (repo::Xattr{"user.big", big}));
  EXPECT_EQ(user[3], (repo::Xattr{"user.empty", ""}));
  EXPECT_TRUE(std::is_sorted(n.xattrs.begin(), n.xattrs.end(),
                             [](const auto& a, const auto& b) { return a.name < b.name; }));

  Node target = n;
  target.xattrs = user;
  ASSERT_TRUE(apply_metadata(dst, target, {.owner = false}).is_ok());
  std::vector<repo::Xattr> restored;
  ASSERT_TRUE(read_xattrs(dst, restored).is_ok());
  std::vector<repo::Xattr> restored_user;
  for (const auto& x : restored)
    if (x.name.starts_with("user.")) restored_user.push_back(x);
  EXPECT_EQ(restored_user, user);
}

TEST(Xattrs, FileWithoutXattrs) {
  TempDir dir;
  lifeboat::testing::write_file(dir / "f", "x");
  std::vector<repo::Xattr> out = {{"stale", "entry"}};
  ASSERT_TRUE(read_xattrs(dir / "f", out).is_ok());
  for (const auto& x : out) EXPECT_FALSE(x.name.starts_with("user.")) << x.name;
  EXPECT_EQ(std::count_if(out.begin(), out.end(), [](const auto& x) { return x.name == "stale"; }), 0);
}

TEST(OwnerNames, ResolvesAndCaches) {
  OwnerNames names;
  std::string me = names.user(::getuid());
  struct passwd* pw = ::getpwuid(::getuid());
  if (pw) {
    EXPECT_EQ(me, pw->pw_name);
  }
  EXPECT_EQ(names.user(::getuid()), me);
  EXPECT_EQ(names.user(4000000000u), "") << "an unknown uid has no name";
}

}  // namespace
}  // namespace lifeboat::sources::fs
