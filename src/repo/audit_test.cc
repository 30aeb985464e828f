#include "repo/audit.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "unit/repo_helpers.h"

namespace lifeboat::repo {
namespace {

using lifeboat::testing::make_mem_repo;
using lifeboat::testing::MemRepo;

class Audit : public ::testing::Test {
 protected:
  void append(const std::string& op, std::vector<std::string> snaps = {}) {
    clock_.advance(kNanosPerSecond);
    AuditRecord r;
    r.hostname = "h";
    r.username = "u";
    r.operation = op;
    r.snapshots = std::move(snaps);
    ASSERT_TRUE(append_audit(*r_.repo, r).is_ok());
  }
  std::vector<std::string> names() {
    std::vector<std::string> out;
    auto listed = r_.mem->list("log/");  // not `*list()` in the for: the Result would die first
    for (const auto& o : *listed) out.push_back(o.name);
    std::sort(out.begin(), out.end());
    return out;
  }
  AuditLog load() {
    auto log = load_audit(*r_.repo);
    EXPECT_TRUE(log.is_ok()) << log.status().message();
    return log.is_ok() ? *log : AuditLog{};
  }
  std::vector<std::string> ops(const AuditLog& log) {
    std::vector<std::string> out;
    for (const auto& r : log.records) out.push_back(r.operation);
    return out;
  }

  FakeClock clock_{1'700'000'000 * kNanosPerSecond};
  MemRepo r_ = make_mem_repo(clock_);
};

TEST_F(Audit, RecordsFormAChainInOrder) {
  append("init");
  append("backup", {std::string(64, 'a')});
  append("forget");
  AuditLog log = load();
  EXPECT_EQ(log.problems, std::vector<std::string>{});
  EXPECT_EQ(ops(log), (std::vector<std::string>{"init", "backup", "forget"}));
  EXPECT_FALSE(log.records[0].prev);
  EXPECT_EQ(log.records[1].prev, log.records[0].id);
  EXPECT_EQ(log.records[2].prev, log.records[1].id);
  EXPECT_EQ(log.records[1].snapshots, std::vector<std::string>{std::string(64, 'a')});
  EXPECT_EQ(log.forks, 0u);
}

TEST_F(Audit, RemovedRecordIsDetected) {
  append("init");
  append("backup");
  append("forget");
  ASSERT_TRUE(r_.mem->remove(names()[1]).is_ok());
  AuditLog log = load();
  ASSERT_EQ(log.problems.size(), 1u);
  EXPECT_NE(log.problems[0].find("which is missing"), std::string::npos) << log.problems[0];
}

TEST_F(Audit, RemovedFirstRecordIsDetected) {
  append("init");
  append("backup");
  ASSERT_TRUE(r_.mem->remove(names()[0]).is_ok());
  EXPECT_FALSE(load().problems.empty());
}

TEST_F(Audit, FlippedByteIsDetected) {
  append("init");
  append("backup");
  std::string name = names()[0];
  size_t size = r_.mem->stat(name)->size;
  for (size_t at : {size_t{0}, size / 2, size - 1}) {
    r_.mem->corrupt(name, at, 0x01);
    EXPECT_FALSE(load().problems.empty()) << "byte " << at;
    r_.mem->corrupt(name, at, 0x01);
  }
  EXPECT_TRUE(load().problems.empty());
}

TEST_F(Audit, SwappedOrRenamedRecordsAreDetected) {
  append("init");
  append("backup");
  append("forget");
  auto n = names();
  Bytes first = *r_.mem->read(n[0], 0, storage::kToEnd);
  Bytes second = *r_.mem->read(n[1], 0, storage::kToEnd);
  // Contents swapped between two names: neither authenticates under the other's id.
  ASSERT_TRUE(r_.mem->write(n[0], second).is_ok());
  ASSERT_TRUE(r_.mem->write(n[1], first).is_ok());
  EXPECT_GE(load().problems.size(), 2u);
  ASSERT_TRUE(r_.mem->write(n[0], first).is_ok());
  ASSERT_TRUE(r_.mem->write(n[1], second).is_ok());
  // A record moved to another time (same id): the name no longer matches.
  std::string moved = "log/00000000000000000001-" + n[2].substr(n[2].size() - 64);
  ASSERT_TRUE(r_.mem->write(moved, *r_.mem->read(n[2], 0, storage::kToEnd)).is_ok());
  ASSERT_TRUE(r_.mem->remove(n[2]).is_ok());
  AuditLog log = load();
  ASSERT_FALSE(log.problems.empty());
  EXPECT_NE(log.problems[0].find("renamed"), std::string::npos) << log.problems[0];
}

TEST_F(Audit, ConcurrentAppendsAreAForkNotAProblem) {
  append("init");
  // Two writers that both saw "init" as the newest record.
  std::string init_name = names()[0];
  append("backup A");
  std::string a_name = names()[1];
  Bytes a = *r_.mem->read(a_name, 0, storage::kToEnd);
  ASSERT_TRUE(r_.mem->remove(a_name).is_ok());
  append("backup B");
  ASSERT_TRUE(r_.mem->write(a_name, a).is_ok());
  AuditLog log = load();
  EXPECT_EQ(log.problems, std::vector<std::string>{});
  EXPECT_EQ(log.forks, 1u);
  EXPECT_EQ(ops(log), (std::vector<std::string>{"init", "backup A", "backup B"}));
}

TEST_F(Audit, ClockBehindStillAppendsInOrder) {
  append("init");
  clock_.advance(-3600 * kNanosPerSecond);
  append("backup");
  AuditLog log = load();
  EXPECT_EQ(log.problems, std::vector<std::string>{});
  EXPECT_EQ(ops(log), (std::vector<std::string>{"init", "backup"}));
}

}  // namespace
}  // namespace lifeboat::repo
