#include "repo/lock.h"

#include <sys/wait.h>
#include <unistd.h>

#include <latch>
#include <thread>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "unit/repo_helpers.h"
#include "unit/test_util.h"
#include "util/time_format.h"

namespace lifeboat::repo {
namespace {

using lifeboat::testing::make_mem_repo;
using lifeboat::testing::MemRepo;

constexpr int64_t kMinute = 60 * kNanosPerSecond;

// A pid that belonged to a process of ours that has exited and been reaped.
int64_t dead_pid() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

class LockTest : public ::testing::Test {
 protected:
  FakeClock clock_{1705329000'000000000};
  MemRepo r_ = make_mem_repo(clock_);
  Repository& repo() { return *r_.repo; }

  LockOwner owner(std::string op, std::string host = "test-host", int64_t pid = ::getpid()) {
    return LockOwner{std::move(host), "tester", pid, std::move(op)};
  }
  std::vector<LockInfo> locks(const std::string& host = "test-host") {
    auto l = list_locks(repo(), host);
    EXPECT_TRUE(l.is_ok()) << l.status().message();
    return l.is_ok() ? *l : std::vector<LockInfo>{};
  }
  std::string expected_message(const LockInfo& l, bool exclusive, const std::string& op) {
    return std::string("repository is locked: ") + (exclusive ? "an exclusive" : "a") + " lock " +
           l.id.short_hex() + " held by PID " + std::to_string(l.pid) + " on " + l.hostname + " (user tester, " + op +
           ") since " + format_local(l.time_ns) +
           "; wait for it to finish, or if that process is gone run `lifeboat unlock`";
  }
};

TEST_F(LockTest, SharedLocksCoexist) {
  auto a = RepoLock::acquire(repo(), LockKind::kShared, owner("backup"));
  auto b = RepoLock::acquire(repo(), LockKind::kShared, owner("check"));
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  ASSERT_TRUE(b.is_ok()) << b.status().message();
  auto held = locks();
  ASSERT_EQ(held.size(), 2u);
  for (const auto& l : held) {
    EXPECT_EQ(l.kind, LockKind::kShared);
    EXPECT_FALSE(l.stale);
    EXPECT_TRUE(l.readable);
    EXPECT_EQ(l.hostname, "test-host");
    EXPECT_EQ(l.username, "tester");
    EXPECT_EQ(l.pid, ::getpid());
    EXPECT_EQ(l.time_ns, clock_.now_ns());
  }
  ASSERT_TRUE((*a)->release().is_ok());
  EXPECT_TRUE((*a)->release().is_ok()) << "release is idempotent";
  EXPECT_EQ(locks().size(), 1u);
  b->reset();  // the destructor releases
  EXPECT_TRUE(locks().empty());
}

TEST_F(LockTest, LockObjectIsSealedJson) {
  auto a = RepoLock::acquire(repo(), LockKind::kExclusive, owner("prune"));
  ASSERT_TRUE(a.is_ok());
  auto held = locks();
  ASSERT_EQ(held.size(), 1u);
  Bytes aad = to_bytes("lock");
  append(aad, held[0].id.span());
  auto body = repo().read_sealed("locks/" + held[0].id.hex(), aad);
  ASSERT_TRUE(body.is_ok()) << body.status().message();
  auto j = nlohmann::json::parse(as_string_view(*body));
  EXPECT_EQ(j["time"], clock_.now_ns());
  EXPECT_EQ(j["exclusive"], true);
  EXPECT_EQ(j["hostname"], "test-host");
  EXPECT_EQ(j["username"], "tester");
  EXPECT_EQ(j["pid"], ::getpid());
  EXPECT_EQ(j["operation"], "prune");
}

TEST_F(LockTest, ExclusiveConflictsWithShared) {
  auto shared = RepoLock::acquire(repo(), LockKind::kShared, owner("backup"));
  ASSERT_TRUE(shared.is_ok());
  auto holder = locks();
  ASSERT_EQ(holder.size(), 1u);
  auto ex = RepoLock::acquire(repo(), LockKind::kExclusive, owner("prune"));
  ASSERT_FALSE(ex.is_ok());
  EXPECT_EQ(ex.status().code(), ErrorCode::kLocked);
  EXPECT_EQ(ex.status().exit_code(), 11);
  EXPECT_EQ(ex.status().message(), expected_message(holder[0], false, "backup"));
  EXPECT_EQ(locks().size(), 1u) << "the refused attempt leaves no lock behind";
}

TEST_F(LockTest, SharedConflictsWithExclusive) {
  auto ex = RepoLock::acquire(repo(), LockKind::kExclusive, owner("prune"));
  ASSERT_TRUE(ex.is_ok());
  auto holder = locks();
  ASSERT_EQ(holder.size(), 1u);
  auto shared = RepoLock::acquire(repo(), LockKind::kShared, owner("backup"));
  ASSERT_FALSE(shared.is_ok());
  EXPECT_EQ(shared.status().code(), ErrorCode::kLocked);
  EXPECT_EQ(shared.status().message(), expected_message(holder[0], true, "prune"));
  auto second = RepoLock::acquire(repo(), LockKind::kExclusive, owner("forget"));
  EXPECT_EQ(second.status().code(), ErrorCode::kLocked);
  EXPECT_EQ(locks().size(), 1u);
}

TEST_F(LockTest, ReleaseLetsExclusiveIn) {
  auto shared = RepoLock::acquire(repo(), LockKind::kShared, owner("backup"));
  ASSERT_TRUE(shared.is_ok());
  ASSERT_TRUE((*shared)->release().is_ok());
  auto ex = RepoLock::acquire(repo(), LockKind::kExclusive, owner("prune"));
  EXPECT_TRUE(ex.is_ok()) << ex.status().message();
}

// A lock not refreshed for 30 minutes is stale and does not block.
TEST_F(LockTest, OldLockIsStale) {
  auto shared = RepoLock::acquire(repo(), LockKind::kShared, owner("backup"));
  ASSERT_TRUE(shared.is_ok());
  clock_.advance(30 * kMinute);
  EXPECT_EQ(RepoLock::acquire(repo(), LockKind::kExclusive, owner("prune")).status().code(), ErrorCode::kLocked)
      << "exactly 30 minutes old is not stale yet";
  clock_.advance(1);
  auto held = locks();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_TRUE(held[0].stale);
  auto ex = RepoLock::acquire(repo(), LockKind::kExclusive, owner("prune"));
  EXPECT_TRUE(ex.is_ok()) << ex.status().message();
}

// On the same host, a lock whose process is gone is stale at once; another
// host cannot know, so it still blocks there.
TEST_F(LockTest, LockOfDeadProcessOnSameHostIsStale) {
  int64_t pid = dead_pid();
  auto orphan = RepoLock::acquire(repo(), LockKind::kShared, owner("backup", "test-host", pid));
  ASSERT_TRUE(orphan.is_ok()) << orphan.status().message();
  auto held = locks("test-host");
  ASSERT_EQ(held.size(), 1u);
  EXPECT_TRUE(held[0].stale);
  EXPECT_FALSE(locks("other-host")[0].stale);
  auto from_other_host = RepoLock::acquire(repo(), LockKind::kExclusive, owner("prune", "other-host"));
  EXPECT_EQ(from_other_host.status().code(), ErrorCode::kLocked);
  auto same_host = RepoLock::acquire(repo(), LockKind::kExclusive, owner("prune", "test-host"));
  EXPECT_TRUE(same_host.is_ok()) << same_host.status().message();
}

TEST_F(LockTest, UnreadableLockIsReportedButDoesNotBlock) {
  Id id = Id::random();
  ASSERT_TRUE(r_.mem->write("locks/" + id.hex(), as_bytes("garbage, not a sealed lock")).is_ok());
  ASSERT_TRUE(r_.mem->write("locks/not-a-lock-id", as_bytes("ignored")).is_ok());
  auto held = locks();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].id, id);
  EXPECT_FALSE(held[0].readable);
  auto ex = RepoLock::acquire(repo(), LockKind::kExclusive, owner("prune"));
  EXPECT_TRUE(ex.is_ok()) << ex.status().message();
}

TEST_F(LockTest, FailedLockWriteIsReported) {
  r_.backend->write_fault = [](std::string_view name) {
    if (name.starts_with("locks/")) return Status(ErrorCode::kPermission, "read-only");
    return Status::ok();
  };
  auto l = RepoLock::acquire(repo(), LockKind::kShared, owner("backup"));
  ASSERT_FALSE(l.is_ok());
  EXPECT_EQ(l.status().code(), ErrorCode::kPermission);
  EXPECT_EQ(l.status().message(), "unable to create a lock: read-only");
}

// Check, write, check again: of many processes racing for an exclusive
// lock, at most one holds it.
TEST_F(LockTest, RacingExclusiveAcquirersExcludeEachOther) {
  constexpr int kThreads = 8;
  std::atomic<int> holders{0};
  std::latch attempted(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto l = RepoLock::acquire(repo(), LockKind::kExclusive, owner("prune-" + std::to_string(t)));
      if (l.is_ok()) {
        holders++;
      } else {
        EXPECT_EQ(l.status().code(), ErrorCode::kLocked);
      }
      attempted.arrive_and_wait();  // hold until everyone has tried
    });
  for (auto& t : threads) t.join();
  EXPECT_LE(holders.load(), 1);
  EXPECT_TRUE(locks().empty()) << "losers and the winner all cleaned up";
}

TEST_F(LockTest, DeleteLockAdmitsSharedButNotDeleteOrExclusive) {
  auto del = RepoLock::acquire(repo(), LockKind::kDelete, owner("prune"));
  ASSERT_TRUE(del.is_ok()) << del.status().message();
  auto backup = RepoLock::acquire(repo(), LockKind::kShared, owner("backup"));
  EXPECT_TRUE(backup.is_ok()) << "backups run while prune runs: " << backup.status().message();
  auto second = RepoLock::acquire(repo(), LockKind::kDelete, owner("forget"));
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kLocked);
  EXPECT_NE(second.status().message().find("a delete lock"), std::string::npos) << second.status().message();
  EXPECT_EQ(RepoLock::acquire(repo(), LockKind::kExclusive, owner("repair")).status().code(), ErrorCode::kLocked);
  (*backup)->release().ignore();
  (*del)->release().ignore();
  // And the other way round: a running backup does not keep prune out.
  auto b2 = RepoLock::acquire(repo(), LockKind::kShared, owner("backup"));
  ASSERT_TRUE(b2.is_ok());
  EXPECT_TRUE(RepoLock::acquire(repo(), LockKind::kDelete, owner("prune")).is_ok());
  EXPECT_EQ(RepoLock::acquire(repo(), LockKind::kExclusive, owner("repair")).status().code(), ErrorCode::kLocked);
}

TEST_F(LockTest, DeleteLockLooksExclusiveToOlderReaders) {
  auto del = RepoLock::acquire(repo(), LockKind::kDelete, owner("prune"));
  ASSERT_TRUE(del.is_ok());
  auto held = locks();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].kind, LockKind::kDelete);
  Bytes aad = to_bytes("lock");
  append(aad, held[0].id.span());
  auto body = repo().read_sealed("locks/" + held[0].id.hex(), aad);
  ASSERT_TRUE(body.is_ok());
  auto j = nlohmann::json::parse(as_string_view(*body));
  EXPECT_EQ(j["kind"], "delete");
  EXPECT_EQ(j["exclusive"], true);
  EXPECT_EQ(j["session"], (*del)->session().hex());
}

TEST_F(LockTest, LockWithoutKindOrSessionReadsAsBefore) {
  Id id = Id::random();
  Bytes aad = to_bytes("lock");
  append(aad, id.span());
  nlohmann::json j = {{"time", clock_.now_ns()}, {"exclusive", true}, {"hostname", "h"}, {"pid", 1}};
  std::string body = j.dump();
  ASSERT_TRUE(repo().write_sealed("locks/" + id.hex(), as_bytes(body), aad).is_ok());
  auto held = locks();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].kind, LockKind::kExclusive);
  EXPECT_EQ(held[0].session, id);
  EXPECT_EQ(held[0].started_ns, clock_.now_ns());
}

TEST_F(LockTest, SessionSurvivesRefreshAndVerifyNoticesLoss) {
  auto l = RepoLock::acquire(repo(), LockKind::kShared, owner("backup"));
  ASSERT_TRUE(l.is_ok());
  EXPECT_TRUE((*l)->verify().is_ok());
  auto held = locks();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].session, (*l)->session());
  EXPECT_EQ(held[0].started_ns, clock_.now_ns());

  // Someone runs unlock --remove-all: the backup must not go on as if locked.
  ASSERT_TRUE(repo().remove("locks/" + held[0].id.hex()).is_ok());
  Status v = (*l)->verify();
  EXPECT_EQ(v.code(), ErrorCode::kLocked);
  EXPECT_NE(v.message().find("removed by someone else"), std::string::npos) << v.message();
}

TEST_F(LockTest, VerifyFailsOnceTheLockCouldHaveGoneStale) {
  auto l = RepoLock::acquire(repo(), LockKind::kShared, owner("backup"));
  ASSERT_TRUE(l.is_ok());
  clock_.advance(kLockStaleAfterNs + kMinute);  // the refresher's real-time wait never fired
  Status v = (*l)->verify();
  EXPECT_EQ(v.code(), ErrorCode::kLocked);
  EXPECT_NE(v.message().find("could not be refreshed"), std::string::npos) << v.message();
}

}  // namespace
}  // namespace lifeboat::repo
