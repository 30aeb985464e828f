#include "util/posix_error.h"

#include <sys/stat.h>

#include <cerrno>

#include <gtest/gtest.h>

#include "unit/test_util.h"

namespace lifeboat {
namespace {

using lifeboat::testing::TempDir;

TEST(PosixError, MapsErrnoToCodes) {
  EXPECT_EQ(error_code_for_errno(ENOENT), ErrorCode::kNotFound);
  EXPECT_EQ(error_code_for_errno(ENOTDIR), ErrorCode::kNotFound);
  EXPECT_EQ(error_code_for_errno(EEXIST), ErrorCode::kAlreadyExists);
  EXPECT_EQ(error_code_for_errno(ENOSPC), ErrorCode::kNoSpace);
  EXPECT_EQ(error_code_for_errno(EDQUOT), ErrorCode::kNoSpace);
  EXPECT_EQ(error_code_for_errno(EACCES), ErrorCode::kPermission);
  EXPECT_EQ(error_code_for_errno(EROFS), ErrorCode::kPermission);
  EXPECT_EQ(error_code_for_errno(EIO), ErrorCode::kIo);
}

TEST(PosixError, MessageAndRetryableBit) {
  Status s = posix_error(ENOENT, "unable to open /x");
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.message(), "unable to open /x: No such file or directory");
  EXPECT_FALSE(s.retryable());
  EXPECT_TRUE(posix_error(EINTR, "read").retryable());
  EXPECT_TRUE(posix_error(EAGAIN, "read").retryable());
}

TEST(MakeDirs, CreatesMissingLevelsWithMode) {
  TempDir dir;
  std::string path = dir / "a/b/c";
  ASSERT_TRUE(make_dirs(path, 0750).is_ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0750u & ~static_cast<unsigned>(mask));
  EXPECT_TRUE(make_dirs(path).is_ok()) << "existing directories are fine";
  EXPECT_TRUE(make_dirs(path + "/").is_ok());
}

TEST(MakeDirs, FileInTheWayIsAnError) {
  TempDir dir;
  lifeboat::testing::write_file(dir / "file", "x");
  Status s = make_dirs(dir / "file/sub");
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.message(), "unable to create directory " + dir / "file/sub" + ": Not a directory");
}

// "Existing directories are fine": an existing file where the directory
// should be is not a directory, and must not be reported as created.
TEST(MakeDirs, ExistingFileAtThePathIsAnError) {
  TempDir dir;
  lifeboat::testing::write_file(dir / "file", "x");
  Status s = make_dirs(dir / "file");
  EXPECT_FALSE(s.is_ok()) << "make_dirs succeeded on a regular file";
}

}  // namespace
}  // namespace lifeboat
