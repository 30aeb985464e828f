#include "ops/snapshot_select.h"

#include <cstdlib>
#include <ctime>

#include <gtest/gtest.h>

#include "unit/repo_helpers.h"
#include "util/time_format.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::make_mem_repo;
using lifeboat::testing::MemRepo;

constexpr int64_t kS = kNanosPerSecond;
constexpr int64_t kT = 1705329000 * kS;  // 2024-01-15T14:30:00Z

const std::string kIdA1 = "abcd000000000000000000000000000000000000000000000000000000000001";
const std::string kIdA2 = "abcd000000000000000000000000000000000000000000000000000000000002";
const std::string kIdB = "1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef";
const std::string kIdC = "ffee000000000000000000000000000000000000000000000000000000000000";

class FindSnapshot : public ::testing::Test {
 protected:
  // Stores a snapshot under a chosen id (save_snapshot picks a random one).
  void put(const std::string& hex, int64_t time, std::string host, std::vector<std::string> tags,
           std::vector<std::string> paths) {
    repo::Snapshot s;
    s.id = *repo::Id::from_hex(hex);
    s.time_ns = time;
    s.hostname = std::move(host);
    s.tags = std::move(tags);
    s.paths = std::move(paths);
    s.tree.bytes.fill(0x55);
    Bytes aad;
    append(aad, "snapshot");
    append(aad, s.id.span());
    std::string body = repo::encode_snapshot(s);
    ASSERT_TRUE(repo().write_sealed("snapshots/" + hex, as_bytes(body), aad).is_ok());
  }
  void SetUp() override {
    put(kIdA1, kT - 3600 * kS, "host-a", {"daily"}, {"/home"});
    put(kIdA2, kT, "host-a", {"daily", "db"}, {"/home", "/etc"});
    put(kIdB, kT + 3600 * kS, "host-b", {"weekly"}, {"/srv"});
  }
  repo::Repository& repo() { return *r_.repo; }
  std::string found(std::string_view ref, const SnapshotFilter& f = {}) {
    auto s = find_snapshot(repo(), ref, f);
    EXPECT_TRUE(s.is_ok()) << ref << ": " << s.status().message();
    return s.is_ok() ? s->id.hex() : "";
  }

  FakeClock clock_{kT};
  MemRepo r_ = make_mem_repo(clock_);
};

TEST_F(FindSnapshot, ByIdAndPrefix) {
  EXPECT_EQ(found(kIdA1), kIdA1);
  EXPECT_EQ(found("1234"), kIdB);
  EXPECT_EQ(found("1234567890AB"), kIdB) << "prefixes are case-insensitive";
  EXPECT_EQ(find_snapshot(repo(), "abcd00000000000000000000000000000000000000000000000000000000000").status().code(),
            ErrorCode::kInvalidArgument)
      << "63 digits: still ambiguous";
}

TEST_F(FindSnapshot, PrefixTooShort) {
  auto r = find_snapshot(repo(), "123");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "snapshot id prefix \"123\" is too short: give at least 4 hex digits");
}

TEST_F(FindSnapshot, AmbiguousPrefix) {
  auto r = find_snapshot(repo(), "abcd");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "snapshot id prefix abcd is ambiguous (2 snapshots): give more digits");
}

TEST_F(FindSnapshot, UnknownId) {
  auto r = find_snapshot(repo(), "ffff");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(), "no snapshot with id ffff: see `lifeboat snapshots` for the ids");
}

TEST_F(FindSnapshot, Latest) {
  EXPECT_EQ(found("latest"), kIdB);
  SnapshotFilter host_a;
  host_a.hosts = {"host-a"};
  EXPECT_EQ(found("latest", host_a), kIdA2);
  SnapshotFilter nobody;
  nobody.hosts = {"host-z"};
  auto r = find_snapshot(repo(), "latest", nobody);
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(), "no snapshot matches the given --host/--tag/--path");
}

TEST(FindSnapshotEmpty, LatestInEmptyRepository) {
  FakeClock clock(kT);
  MemRepo r = make_mem_repo(clock);
  auto s = find_snapshot(*r.repo, "latest");
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.status().message(), "no snapshot found: the repository is empty");
}

TEST_F(FindSnapshot, ByTimeTakesNewestAtOrBefore) {
  EXPECT_EQ(found("2024-01-15T14:30:00Z"), kIdA2) << "exactly at its time";
  EXPECT_EQ(found("2024-01-15T14:29:59.999999999Z"), kIdA1);
  EXPECT_EQ(found("2024-01-15T15:00:00+00:00"), kIdA2);
  EXPECT_EQ(found("2030-01-01T00:00:00Z"), kIdB);
  SnapshotFilter host_a;
  host_a.hosts = {"host-a"};
  EXPECT_EQ(found("2030-01-01T00:00:00Z", host_a), kIdA2);
}

TEST_F(FindSnapshot, ByTimeBeforeTheFirst) {
  auto r = find_snapshot(repo(), "2020-01-01T00:00:00Z");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  int64_t t = 1577836800 * kS;
  EXPECT_EQ(r.status().message(), "no snapshot was taken at or before " + format_local(t) + "; the oldest is abcd0000 from " +
                                      format_local(kT - 3600 * kS));
}

TEST_F(FindSnapshot, ByDateMeansEndOfThatDay) {
  const char* old_tz = std::getenv("TZ");
  std::string saved = old_tz ? old_tz : "";
  ::setenv("TZ", "UTC0", 1);
  ::tzset();
  EXPECT_EQ(found("2024-01-15"), kIdB) << "15:30Z is on the 15th";
  EXPECT_EQ(find_snapshot(repo(), "2024-01-14").status().code(), ErrorCode::kNotFound);
  if (old_tz) ::setenv("TZ", saved.c_str(), 1);
  else ::unsetenv("TZ");
  ::tzset();
}

TEST_F(FindSnapshot, GarbageRef) {
  auto r = find_snapshot(repo(), "yesterday");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "\"yesterday\" is not a snapshot: give an id, an id prefix, \"latest\", or a time such as \"2024-01-15 "
            "14:30:00\"");
}

TEST_F(FindSnapshot, ListWithFilterOldestFirst) {
  SnapshotFilter f;
  f.tags = {"daily"};
  auto l = list_snapshots(repo(), f);
  ASSERT_TRUE(l.is_ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].id.hex(), kIdA1);
  EXPECT_EQ((*l)[1].id.hex(), kIdA2);
}

TEST(SnapshotFilter, Matches) {
  repo::Snapshot s;
  s.hostname = "host-a";
  s.tags = {"daily", "db"};
  s.paths = {"/home", "/etc"};
  EXPECT_TRUE(SnapshotFilter{}.matches(s));
  EXPECT_TRUE((SnapshotFilter{{"host-b", "host-a"}, {}, {}}.matches(s)));
  EXPECT_FALSE((SnapshotFilter{{"host-b"}, {}, {}}.matches(s)));
  EXPECT_TRUE((SnapshotFilter{{}, {"weekly", "db"}, {}}.matches(s))) << "any of the entries";
  EXPECT_TRUE((SnapshotFilter{{}, {"daily,db"}, {}}.matches(s))) << "an entry with commas needs all";
  EXPECT_FALSE((SnapshotFilter{{}, {"daily,weekly"}, {}}.matches(s)));
  EXPECT_TRUE((SnapshotFilter{{}, {}, {"/etc"}}.matches(s)));
  EXPECT_TRUE((SnapshotFilter{{}, {}, {"/etc", "/home"}}.matches(s))) << "all of the paths";
  EXPECT_FALSE((SnapshotFilter{{}, {}, {"/etc", "/srv"}}.matches(s)));
}

}  // namespace
}  // namespace lifeboat::ops
