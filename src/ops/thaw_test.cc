// Restore from cold storage: a store whose data packs sit in an archive
// class (as S3 GLACIER does: unreadable until thawed, thawing takes a
// while). The S3 protocol side is tested against a server in
// tests/e2e/test_cold.py; this tests what restore asks for and when.
#include <sys/stat.h>

#include <atomic>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "ops/forget.h"
#include "ops/prune.h"
#include "ops/restore.h"
#include "storage/mem_backend.h"
#include "unit/ops_fixture.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::compare_trees;
using lifeboat::testing::OpsTest;
using storage::ThawState;

// Data packs written with write_cold() are archived; thaw() makes one
// readable after `polls_to_thaw` looks at it.
class ColdStore final : public storage::Backend {
 public:
  std::string location() const override { return "cold:test"; }
  Status create() override { return mem_.create(); }
  Result<std::vector<storage::ObjectInfo>> list(std::string_view prefix) override {
    LB_ASSIGN_OR_RETURN(auto out, mem_.list(prefix));
    std::lock_guard lock(mu_);
    for (auto& o : out) o.archived = state_.contains(o.name) && state_.at(o.name).first != ThawState::kReadable;
    return out;
  }
  Result<Bytes> read(std::string_view name, uint64_t offset, uint64_t length) override {
    {
      std::lock_guard lock(mu_);
      auto it = state_.find(name);
      if (it != state_.end() && it->second.first != ThawState::kReadable) {
        reads_of_archived_++;
        return Status(ErrorCode::kArchived, std::string(name) + " is archived");
      }
    }
    return mem_.read(name, offset, length);
  }
  Status write(std::string_view name, ByteSpan data) override { return mem_.write(name, data); }
  Status write_cold(std::string_view name, ByteSpan data) override {
    std::lock_guard lock(mu_);
    state_[std::string(name)] = {ThawState::kArchived, 0};
    return mem_.write(name, data);
  }
  Status remove(std::string_view name) override { return mem_.remove(name); }
  Result<storage::ObjectInfo> stat(std::string_view name) override { return mem_.stat(name); }
  int connections() const override { return 3; }
  bool has_archive_tiers() const override { return true; }

  Result<ThawState> thaw_state(std::string_view name) override {
    std::lock_guard lock(mu_);
    looks_++;
    auto it = state_.find(name);
    if (it == state_.end()) return ThawState::kReadable;
    auto& [st, left] = it->second;
    if (st == ThawState::kThawing && left-- <= 0) st = ThawState::kReadable;
    return st;
  }
  Status thaw(std::string_view name, int days) override {
    std::lock_guard lock(mu_);
    EXPECT_EQ(days, expected_days_);
    auto it = state_.find(name);
    if (it == state_.end()) return Status(ErrorCode::kInvalidArgument, "thaw of a hot object");
    thaw_requests_[std::string(name)]++;
    if (it->second.first == ThawState::kArchived) it->second = {ThawState::kThawing, polls_to_thaw_};
    return Status::ok();
  }

  // Test access.
  void archive_again() {
    std::lock_guard lock(mu_);
    for (auto& [name, s] : state_) s = {ThawState::kArchived, 0};
  }
  void make_all_readable() {
    std::lock_guard lock(mu_);
    for (auto& [name, s] : state_) s = {ThawState::kReadable, 0};
  }
  std::set<std::string> archived_names() {
    std::lock_guard lock(mu_);
    std::set<std::string> out;
    for (const auto& [name, s] : state_) out.insert(name);
    return out;
  }

  int polls_to_thaw_ = 2;
  int expected_days_ = 2;
  std::map<std::string, int> thaw_requests_;
  int looks_ = 0;
  int reads_of_archived_ = 0;

 private:
  storage::MemBackend mem_{"cold"};
  std::mutex mu_;
  std::map<std::string, std::pair<ThawState, int>, std::less<>> state_;
};

class Thaw : public OpsTest {
 protected:
  void SetUp() override {
    OpsTest::SetUp();
    auto store = std::make_unique<ColdStore>();
    cold_ = store.get();
    auto r = repo::Repository::create(std::move(store), "pw", lifeboat::testing::small_options(), clock_);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    repo_ = std::move(*r);
  }
  RestoreOptions options(const std::string& target) {
    RestoreOptions o;
    o.target = target;
    o.workers = 2;
    o.thaw.poll_ns = 1'000'000;  // 1 ms
    o.thaw.on_progress = [this](const ThawProgress& p) { rounds_.push_back(p); };
    return o;
  }
  std::set<std::string> names(const std::vector<repo::Id>& packs) {
    std::set<std::string> out;
    for (const auto& id : packs) out.insert(repo::pack_name(id));
    return out;
  }
  std::set<std::string> thawed() {
    std::set<std::string> out;
    for (const auto& [name, n] : cold_->thaw_requests_) out.insert(name);
    return out;
  }

  ColdStore* cold_ = nullptr;
  std::vector<ThawProgress> rounds_;
};

TEST_F(Thaw, RestoreAsksForOnlyTheArchivedPacksItReadsThenStopsWithoutWriting) {
  auto b = backup();
  ASSERT_GE(cold_->archived_names().size(), 2u) << "the sample's data packs are archived";
  std::string target = dir_ / "restore";
  RestoreOptions o = options(target);
  o.includes = {"a.txt"};  // one blob: one pack
  ASSERT_TRUE(repo_->load_index().is_ok());
  auto needed = packs_for_restore(*repo_, b.snapshot, o, ctx_);
  ASSERT_TRUE(needed.is_ok()) << needed.status().message();
  ASSERT_FALSE(needed->empty());
  struct stat st;
  EXPECT_NE(::stat(target.c_str(), &st), 0) << "planning writes nothing";

  auto r = restore(*repo_, b.snapshot, o, ctx_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kArchived);
  EXPECT_EQ(r.status().exit_code(), 13);
  EXPECT_NE(r.status().message().find("--thaw-wait"), std::string::npos) << r.status().message();
  EXPECT_NE(::stat(target.c_str(), &st), 0) << "nothing is written while packs thaw";
  // Only the packs this restore reads (the trees were read from hot packs).
  EXPECT_EQ(thawed(), names(*needed));
  EXPECT_EQ(thawed().size(), 1u) << "one small file needs one pack, not all of them";
  EXPECT_EQ(cold_->reads_of_archived_, 0);
  ASSERT_FALSE(rounds_.empty());
  EXPECT_EQ(rounds_.back().needed, needed->size());
  EXPECT_EQ(rounds_.back().requested, needed->size());
  EXPECT_EQ(rounds_.back().ready, 0u);

  // Run again with time to wait: no second thaw request for a pack that is
  // thawing, and the file comes back.
  rounds_.clear();
  o.thaw.wait_ns = 10 * kNanosPerSecond;
  auto again = restore(*repo_, b.snapshot, o, ctx_);
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ(again->files, 1u);
  for (const auto& [name, n] : cold_->thaw_requests_) EXPECT_EQ(n, 1) << name;
  EXPECT_EQ(lifeboat::testing::read_file(restored(target, src_) + "/a.txt"), "hello world\n");
  ASSERT_GE(rounds_.size(), 2u) << "it waited at least one round";
  EXPECT_EQ(rounds_.back().ready, needed->size());
  EXPECT_EQ(cold_->reads_of_archived_, 0);
}

TEST_F(Thaw, AWholeRestoreWaitsForEveryPackAndRethawsExpiredCopies) {
  auto b = backup();
  cold_->polls_to_thaw_ = 3;
  std::string target = dir_ / "whole";
  RestoreOptions o = options(target);
  o.thaw.wait_ns = 10 * kNanosPerSecond;
  o.thaw.days = 7;
  cold_->expected_days_ = 7;
  auto r = restore(*repo_, b.snapshot, o, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(thawed(), cold_->archived_names()) << "a whole restore reads every data pack";
  EXPECT_EQ(compare_trees(src_, restored(target, src_)), std::vector<std::string>{});
  // The thawed copies expire: the next restore asks again.
  cold_->archive_again();
  cold_->expected_days_ = 2;
  auto again = restore(*repo_, b.snapshot, options(dir_ / "again"), ctx_);
  ASSERT_FALSE(again.is_ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kArchived);
  for (const auto& [name, n] : cold_->thaw_requests_) EXPECT_EQ(n, 2) << name;
}

TEST_F(Thaw, NothingArchivedMeansNoPerPackLooks) {
  auto b = backup();
  cold_->make_all_readable();
  // One listing shows that no pack is archived: no per-pack request.
  auto r = restore(*repo_, b.snapshot, options(dir_ / "hot"), ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_TRUE(rounds_.empty());
  EXPECT_EQ(cold_->looks_, 0);
  EXPECT_TRUE(cold_->thaw_requests_.empty());
}

TEST_F(Thaw, PruneDeletesUnusedArchivedPacksButDoesNotRepackThem) {
  auto first = backup();
  // A second snapshot that shares some of the data: after forgetting the
  // first, packs hold used and unused blobs.
  lifeboat::testing::write_file(src_ + "/big.bin", "replaced");
  auto second = backup();
  ForgetOptions f;
  f.snapshots = {first.snapshot.id.hex()};
  ASSERT_TRUE(forget(*repo_, f, ctx_).is_ok());
  PruneOptions o;
  o.max_unused_fraction = 0;
  auto r = prune(*repo_, o, ctx_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(cold_->reads_of_archived_, 0) << "prune never reads an archived pack";
  // big.bin's old data is unused: its archived pack was deleted (unread),
  // or, sharing a pack with used data, left with a note.
  bool noted = false;
  for (const auto& n : r->notes) noted |= n.find("archive storage class") != std::string::npos;
  EXPECT_TRUE(noted || r->packs_unused > 0);
  // What is left restores, once thawed.
  RestoreOptions ro = options(dir_ / "after-prune");
  ro.thaw.wait_ns = 10 * kNanosPerSecond;
  auto back = restore(*repo_, second.snapshot, ro, ctx_);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(compare_trees(src_, restored(dir_ / "after-prune", src_)), std::vector<std::string>{});
}

}  // namespace
}  // namespace lifeboat::ops
