#include "ops/keys.h"

#include <gtest/gtest.h>

#include "unit/repo_helpers.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::make_mem_repo;
using lifeboat::testing::MemRepo;
using lifeboat::testing::SharedBackend;

// Real KDF parameters: key files with weaker ones are refused on open.
repo::CreateOptions real_kdf_options() {
  repo::CreateOptions o = lifeboat::testing::cheap_options();
  o.kdf = crypto::ScryptParams{};
  return o;
}

class Keys : public ::testing::Test {
 protected:
  Result<std::unique_ptr<repo::Repository>> reopen(std::string_view password) {
    return repo::Repository::open(std::make_unique<SharedBackend>(r_.mem), password, clock_);
  }
  OpContext ctx() { return {.hostname = "host1", .username = "alice", .pid = 1}; }

  FakeClock clock_{1'700'000'000 * kNanosPerSecond};
  MemRepo r_ = make_mem_repo(clock_, real_kdf_options(), "first");
};

TEST_F(Keys, AddedPasswordOpensTheSameRepository) {
  clock_.advance(60 * kNanosPerSecond);  // listed oldest first
  auto id = key_add(*r_.repo, "second", {}, ctx());
  ASSERT_TRUE(id.is_ok()) << id.status().message();
  auto keys = key_list(*r_.repo);
  ASSERT_TRUE(keys.is_ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ(keys->back().info.id, *id);
  EXPECT_EQ(keys->back().info.hostname, "host1");
  EXPECT_EQ(keys->back().info.username, "alice");
  EXPECT_EQ(keys->back().info.kdf.n, uint64_t{1} << 16);
  auto second = reopen("second");
  ASSERT_TRUE(second.is_ok()) << second.status().message();
  EXPECT_EQ((*second)->key_id(), *id);
  EXPECT_EQ((*second)->config().id, r_.repo->config().id);
  EXPECT_EQ((*second)->keys().master().id_key, r_.repo->keys().master().id_key);
  ASSERT_TRUE(reopen("first").is_ok());
  EXPECT_EQ(reopen("third").status().code(), ErrorCode::kWrongPassword);
  EXPECT_EQ(key_add(*r_.repo, "", {}, ctx()).status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(Keys, RemoveRefusesTheCurrentAndTheLastKey) {
  const repo::Id first = r_.repo->key_id();
  auto current = key_remove(*r_.repo, first.hex().substr(0, 8), ctx());
  EXPECT_EQ(current.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(current.status().message().find("it is the one this command opened the repository with"),
            std::string::npos);
  auto id = key_add(*r_.repo, "second", {}, ctx());
  ASSERT_TRUE(id.is_ok());
  // Opened with "second", the first key can go, but then not the second.
  auto second = reopen("second");
  ASSERT_TRUE(second.is_ok());
  auto removed = key_remove(**second, first.hex(), ctx());
  ASSERT_TRUE(removed.is_ok()) << removed.status().message();
  EXPECT_EQ(reopen("first").status().code(), ErrorCode::kWrongPassword);
  EXPECT_EQ((*second)->remove_key(*id, true).code(), ErrorCode::kInvalidArgument) << "the last key";
  EXPECT_EQ(key_list(**second)->size(), 1u);
}

TEST_F(Keys, RemoveResolvesPrefixes) {
  EXPECT_EQ(key_remove(*r_.repo, "12", ctx()).status().code(), ErrorCode::kInvalidArgument) << "too short";
  EXPECT_EQ(key_remove(*r_.repo, "xyz1", ctx()).status().code(), ErrorCode::kInvalidArgument) << "not hex";
  std::string absent = r_.repo->key_id().hex()[0] == '0' ? "1111" : "0000";
  EXPECT_EQ(key_remove(*r_.repo, absent, ctx()).status().code(), ErrorCode::kNotFound);
}

TEST_F(Keys, PasswdReplacesTheCurrentKey) {
  const repo::Id first = r_.repo->key_id();
  auto id = key_passwd(*r_.repo, "new", {.hostname = "laptop"}, ctx());
  ASSERT_TRUE(id.is_ok()) << id.status().message();
  auto keys = key_list(*r_.repo);
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ(keys->front().info.id, *id);
  EXPECT_EQ(keys->front().info.hostname, "laptop");
  EXPECT_NE(*id, first);
  EXPECT_EQ(reopen("first").status().code(), ErrorCode::kWrongPassword);
  ASSERT_TRUE(reopen("new").is_ok());
  EXPECT_TRUE(r_.mem->list("locks/")->empty()) << "the lock is released";
}

TEST_F(Keys, DamagedKeyFileIsListedAsUnreadable) {
  ASSERT_TRUE(r_.mem->write("keys/" + std::string(64, 'a'), as_bytes("{not json")).is_ok());
  auto keys = key_list(*r_.repo);
  ASSERT_TRUE(keys.is_ok());
  ASSERT_EQ(keys->size(), 2u);
  int unreadable = 0;
  for (const auto& k : *keys) unreadable += !k.readable;
  EXPECT_EQ(unreadable, 1);
}

}  // namespace
}  // namespace lifeboat::ops
