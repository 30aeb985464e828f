#include <gtest/gtest.h>

#include "storage/backend.h"

namespace lifeboat::storage {
namespace {

TEST(OpenBackend, EmptyLocationSaysWhatToDo) {
  auto r = open_backend("");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "no repository given: use --repo or set LIFEBOAT_REPOSITORY");
}

TEST(OpenBackend, MemStoresAreSharedByName) {
  auto a = open_backend("mem:registry-test");
  auto b = open_backend("mem:registry-test");
  auto other = open_backend("mem:registry-other");
  ASSERT_TRUE(a.is_ok() && b.is_ok() && other.is_ok());
  EXPECT_EQ((*a)->location(), "mem:registry-test");
  ASSERT_TRUE((*a)->write("config", as_bytes("shared")).is_ok());
  auto read = (*b)->read("config");
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(to_string(*read), "shared");
  EXPECT_EQ((*other)->read("config").status().code(), ErrorCode::kNotFound);
}

TEST(OpenBackend, UnavailableSchemesAreUnsupported) {
  auto r = open_backend("sftp:host:/srv/repo");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(r.status().message(),
            "repository location \"sftp:host:/srv/repo\": the sftp backend is not available in this build yet; "
            "use a local path");
  for (const char* loc : {"rest:http://x"})
    EXPECT_EQ(open_backend(loc).status().code(), ErrorCode::kUnsupported) << loc;
}

TEST(OpenBackend, LocalPathsWithOrWithoutScheme) {
  auto plain = open_backend("/srv/backup");
  auto prefixed = open_backend("local:/srv/backup/");
  ASSERT_TRUE(plain.is_ok() && prefixed.is_ok());
  EXPECT_EQ((*plain)->location(), "/srv/backup");
  EXPECT_EQ((*prefixed)->location(), "/srv/backup");
}

}  // namespace
}  // namespace lifeboat::storage
