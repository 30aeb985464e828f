#include "ops/retention.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ops/forget.h"
#include "ops/repo_config.h"
#include "unit/repo_helpers.h"
#include "util/time_format.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::make_mem_repo;
using lifeboat::testing::MemRepo;

int64_t at(const char* rfc3339) {
  auto t = parse_time(rfc3339);
  EXPECT_TRUE(t.is_ok()) << rfc3339;
  return t.is_ok() ? *t : 0;
}

repo::Snapshot snap(const char* time, std::vector<std::string> tags = {}, std::string host = "h",
                    std::vector<std::string> paths = {"/data"}) {
  repo::Snapshot s;
  s.time_ns = at(time);
  s.tags = std::move(tags);
  s.hostname = std::move(host);
  s.paths = std::move(paths);
  s.id = repo::Id::random();
  return s;
}

// "time: reasons" for kept snapshots, newest first; removed ones as "time: -".
std::vector<std::string> outcome(const std::vector<RetentionDecision>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) {
    std::string line = format_rfc3339(d.snapshot.time_ns, true, 0) + ":";
    if (!d.keep) line += " -";
    for (const auto& r : d.reasons) line += " " + r;
    EXPECT_EQ(d.keep, !d.reasons.empty());
    out.push_back(line);
  }
  return out;
}

RetentionPolicy utc_policy() {
  RetentionPolicy p;
  p.utc = true;
  return p;
}

TEST(Retention, KeepLastKeepsTheNewest) {
  auto p = utc_policy();
  p.last = 2;
  auto got = outcome(apply_policy({snap("2024-01-01T00:00:00Z"), snap("2024-01-03T00:00:00Z"),
                                   snap("2024-01-02T00:00:00Z")},
                                  p));
  EXPECT_EQ(got, (std::vector<std::string>{"2024-01-03T00:00:00Z: last", "2024-01-02T00:00:00Z: last",
                                           "2024-01-01T00:00:00Z: -"}));
}

TEST(Retention, DailyKeepsTheNewestOfEachOfTheLastNDays) {
  auto p = utc_policy();
  p.daily = 2;
  auto got = outcome(apply_policy({snap("2024-01-01T10:00:00Z"), snap("2024-01-01T20:00:00Z"),
                                   snap("2024-01-02T09:00:00Z"), snap("2024-01-02T08:00:00Z"),
                                   snap("2024-01-04T12:00:00Z")},
                                  p));
  // Days without a snapshot (01-03) do not count.
  EXPECT_EQ(got, (std::vector<std::string>{"2024-01-04T12:00:00Z: daily", "2024-01-02T09:00:00Z: daily",
                                           "2024-01-02T08:00:00Z: -", "2024-01-01T20:00:00Z: -",
                                           "2024-01-01T10:00:00Z: -"}));
}

TEST(Retention, WeeksAreIsoWeeks) {
  auto p = utc_policy();
  p.weekly = 2;
  // 2024-12-29 is a Sunday (2024-W52); 2024-12-30 a Monday, already 2025-W01,
  // like 2025-01-05 (Sunday).
  auto got = outcome(apply_policy({snap("2024-12-29T12:00:00Z"), snap("2024-12-30T12:00:00Z"),
                                   snap("2025-01-05T12:00:00Z")},
                                  p));
  EXPECT_EQ(got, (std::vector<std::string>{"2025-01-05T12:00:00Z: weekly", "2024-12-30T12:00:00Z: -",
                                           "2024-12-29T12:00:00Z: weekly"}));
}

TEST(Retention, RulesCombineAndEveryMatchingRuleIsListed) {
  auto p = utc_policy();
  p.last = 1;
  p.daily = 3;
  p.monthly = 2;
  p.yearly = 5;
  auto got = outcome(apply_policy({snap("2023-12-31T23:00:00Z"), snap("2024-01-30T10:00:00Z"),
                                   snap("2024-01-31T10:00:00Z"), snap("2024-02-01T10:00:00Z"),
                                   snap("2024-02-01T11:00:00Z")},
                                  p));
  EXPECT_EQ(got, (std::vector<std::string>{"2024-02-01T11:00:00Z: last daily monthly yearly",
                                           "2024-02-01T10:00:00Z: -", "2024-01-31T10:00:00Z: daily monthly",
                                           "2024-01-30T10:00:00Z: daily", "2023-12-31T23:00:00Z: yearly"}));
}

TEST(Retention, MinusOneIsUnlimited) {
  auto p = utc_policy();
  p.daily = -1;
  std::vector<repo::Snapshot> in;
  for (int d = 1; d <= 28; ++d) {
    std::string t = fmt::format("2024-02-{:02d}T06:00:00Z", d);
    in.push_back(snap(t.c_str()));
    std::string t2 = fmt::format("2024-02-{:02d}T05:00:00Z", d);
    in.push_back(snap(t2.c_str()));
  }
  auto ds = apply_policy(in, p);
  size_t kept = 0;
  for (const auto& d : ds) kept += d.keep;
  EXPECT_EQ(kept, 28u);
}

TEST(Retention, HourlyAndYearly) {
  auto p = utc_policy();
  p.hourly = 2;
  auto got = outcome(apply_policy({snap("2024-05-01T10:05:00Z"), snap("2024-05-01T10:55:00Z"),
                                   snap("2024-05-01T11:01:00Z"), snap("2024-05-01T13:00:00Z")},
                                  p));
  EXPECT_EQ(got, (std::vector<std::string>{"2024-05-01T13:00:00Z: hourly", "2024-05-01T11:01:00Z: hourly",
                                           "2024-05-01T10:55:00Z: -", "2024-05-01T10:05:00Z: -"}));
}

TEST(Retention, WithinIsMeasuredFromTheNewestSnapshotNotFromNow) {
  auto p = utc_policy();
  p.within = *parse_calendar_duration("35d");
  auto got = outcome(apply_policy({snap("2020-03-10T00:00:00Z"), snap("2020-02-05T00:00:00Z"),
                                   snap("2020-02-04T00:00:00Z"), snap("2020-02-03T23:59:59Z")},
                                  p));
  EXPECT_EQ(got, (std::vector<std::string>{"2020-03-10T00:00:00Z: within 35d", "2020-02-05T00:00:00Z: within 35d",
                                           "2020-02-04T00:00:00Z: within 35d", "2020-02-03T23:59:59Z: -"}));
}

TEST(Retention, KeepTagKeepsTaggedSnapshots) {
  auto p = utc_policy();
  p.last = 1;
  p.tags = {"keep", "a,b"};
  auto got = outcome(apply_policy({snap("2024-01-05T00:00:00Z"), snap("2024-01-04T00:00:00Z", {"keep"}),
                                   snap("2024-01-03T00:00:00Z", {"a"}), snap("2024-01-02T00:00:00Z", {"b", "a"})},
                                  p));
  EXPECT_EQ(got, (std::vector<std::string>{"2024-01-05T00:00:00Z: last", "2024-01-04T00:00:00Z: tag keep",
                                           "2024-01-03T00:00:00Z: -", "2024-01-02T00:00:00Z: tag a,b"}));
}

TEST(Retention, LocalTimeDecidesTheDayUnlessUtc) {
  setenv("TZ", "America/New_York", 1);
  tzset();
  // 03:00Z and 05:00Z on Jan 2 are Jan 1 22:00 and Jan 2 00:00 in New York.
  RetentionPolicy p;
  p.daily = 5;
  auto ds = apply_policy({snap("2024-01-02T03:00:00Z"), snap("2024-01-02T05:00:00Z")}, p);
  EXPECT_TRUE(ds[0].keep && ds[1].keep);
  p.utc = true;
  ds = apply_policy({snap("2024-01-02T03:00:00Z"), snap("2024-01-02T05:00:00Z")}, p);
  EXPECT_TRUE(ds[0].keep);
  EXPECT_FALSE(ds[1].keep);
  unsetenv("TZ");
  tzset();
}

TEST(CalendarDuration, Parse) {
  auto d = parse_calendar_duration("1y2m3w4d5h");
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->years, 1);
  EXPECT_EQ(d->months, 2);
  EXPECT_EQ(d->weeks, 3);
  EXPECT_EQ(d->days, 4);
  EXPECT_EQ(d->hours, 5);
  EXPECT_EQ(to_string(*d), "1y2m3w4d5h");
  for (const char* bad : {"", "5", "d", "5x", "-1d", "1d2", "3 d", "99999999d"}) {
    auto r = parse_calendar_duration(bad);
    EXPECT_FALSE(r.is_ok()) << bad;
    if (!r.is_ok()) {
      EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    }
  }
}

TEST(CalendarDuration, SubtractIsCalendarAware) {
  EXPECT_EQ(format_rfc3339(subtract_duration(at("2024-03-15T12:00:00Z"), *parse_calendar_duration("1m"), true), true, 0),
            "2024-02-15T12:00:00Z");
  EXPECT_EQ(format_rfc3339(subtract_duration(at("2024-03-01T12:00:00Z"), *parse_calendar_duration("1y1d"), true), true, 0),
            "2023-02-28T12:00:00Z");
  EXPECT_EQ(format_rfc3339(subtract_duration(at("2024-03-01T12:00:00Z"), *parse_calendar_duration("2w3h"), true), true, 0),
            "2024-02-16T09:00:00Z");
}

TEST(GroupBy, ParseAndKeys) {
  auto g = parse_group_by("host,tags");
  ASSERT_TRUE(g.is_ok());
  EXPECT_TRUE(g->host);
  EXPECT_FALSE(g->paths);
  EXPECT_TRUE(g->tags);
  EXPECT_EQ(parse_group_by("hosts").status().code(), ErrorCode::kInvalidArgument);
  auto none = parse_group_by("");
  ASSERT_TRUE(none.is_ok());
  EXPECT_EQ(group_key(snap("2024-01-01T00:00:00Z"), *none), "");
  GroupBy def;
  EXPECT_EQ(group_key(snap("2024-01-01T00:00:00Z", {}, "db1", {"/var", "/etc"}), def), "host=db1 paths=/etc,/var");
  auto groups = group_snapshots({snap("2024-01-01T00:00:00Z", {}, "a"), snap("2024-01-02T00:00:00Z", {}, "b"),
                                 snap("2024-01-03T00:00:00Z", {}, "a"),
                                 snap("2024-01-03T00:00:00Z", {}, "a", {"/other"})},
                                def);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups["host=a paths=/data"].size(), 2u);
}

// forget() on a repository: the policy per group, refusals, dry run.
class Forget : public ::testing::Test {
 protected:
  void put(const char* time, std::string host, std::vector<std::string> tags = {}) {
    repo::Snapshot s = snap(time, std::move(tags), std::move(host));
    s.tree.bytes.fill(0x55);
    ASSERT_TRUE(repo().save_snapshot(s).is_ok());
  }
  repo::Repository& repo() { return *r_.repo; }
  size_t count() { return repo().list_snapshot_ids()->size(); }
  OpContext ctx() { return {.hostname = "test", .username = "u", .pid = 1}; }

  FakeClock clock_{at("2024-06-01T00:00:00Z")};
  MemRepo r_ = make_mem_repo(clock_);
};

TEST_F(Forget, PolicyAppliesPerHostGroup) {
  for (const char* t : {"2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"}) {
    put(t, "a");
    put(t, "b");
  }
  ForgetOptions o;
  o.policy.last = 1;
  auto r = forget(repo(), o, ctx());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->groups.size(), 2u);
  EXPECT_EQ(r->removed.size(), 4u);
  EXPECT_EQ(count(), 2u);
  o.group_by = *parse_group_by("");
  r = forget(repo(), o, ctx());
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(count(), 1u) << "one group over both hosts";
}

TEST_F(Forget, DryRunRemovesNothing) {
  put("2024-01-01T00:00:00Z", "a");
  put("2024-01-02T00:00:00Z", "a");
  ForgetOptions o;
  o.policy.last = 1;
  o.dry_run = true;
  auto r = forget(repo(), o, ctx());
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->removed.size(), 1u);
  EXPECT_EQ(count(), 2u);
}

TEST_F(Forget, PolicyThatEmptiesAGroupIsRefused) {
  put("2024-01-01T00:00:00Z", "a", {"x"});
  put("2024-01-02T00:00:00Z", "b");
  ForgetOptions o;
  o.policy.tags = {"x"};
  auto r = forget(repo(), o, ctx());
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("would remove all 1 snapshots of group \"host=b paths=/data\""),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(count(), 2u) << "nothing removed";
  o.allow_empty = true;
  r = forget(repo(), o, ctx());
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(count(), 1u);
}

TEST_F(Forget, ByIdAndBadArguments) {
  put("2024-01-01T00:00:00Z", "a");
  put("2024-01-02T00:00:00Z", "a");
  auto ids = *repo().list_snapshot_ids();
  ForgetOptions o;
  EXPECT_EQ(forget(repo(), o, ctx()).status().code(), ErrorCode::kInvalidArgument) << "no policy, no ids";
  o.snapshots = {ids[0].hex().substr(0, 8)};
  o.policy.last = 1;
  EXPECT_EQ(forget(repo(), o, ctx()).status().code(), ErrorCode::kInvalidArgument) << "ids and a policy";
  o.policy = {};
  auto r = forget(repo(), o, ctx());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(count(), 1u);
  o.snapshots = {"deadbeef"};
  EXPECT_EQ(forget(repo(), o, ctx()).status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace lifeboat::ops

namespace lifeboat::ops {
namespace {

class RetentionLock : public Forget {};

TEST_F(RetentionLock, YoungSnapshotsAreKeptAndCannotBeNamed) {
  put("2024-05-01T00:00:00Z", "a");  // 31 days before the clock: past a 30-day lock
  put("2024-05-20T00:00:00Z", "a");
  put("2024-05-25T00:00:00Z", "a");
  ASSERT_TRUE(set_lock_days(repo(), 30, ctx()).is_ok());
  EXPECT_EQ(repo().config().lock_days, 30u);
  ForgetOptions o;
  o.policy.last = 1;
  auto r = forget(repo(), o, ctx());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->removed.size(), 1u) << "only the snapshot past the lock";
  EXPECT_EQ(count(), 2u);
  const auto& ds = r->groups[0].decisions;
  EXPECT_EQ(ds[1].reasons, std::vector<std::string>{"locked until " + format_local(at("2024-06-19T00:00:00Z"))});
  ForgetOptions by_id;
  by_id.snapshots = {ds[1].snapshot.id.hex()};
  auto named = forget(repo(), by_id, ctx());
  ASSERT_FALSE(named.is_ok());
  EXPECT_NE(named.status().message().find("retention lock"), std::string::npos) << named.status().message();
  EXPECT_EQ(count(), 2u);
}

TEST_F(RetentionLock, TheLockIsMeasuredFromWhenTheSnapshotWasWritten) {
  repo::Snapshot s = snap("2020-01-01T00:00:00Z", {}, "a");  // imported with an old --time
  s.summary.backup_end_ns = at("2024-05-31T00:00:00Z");
  s.tree.bytes.fill(0x55);
  ASSERT_TRUE(repo().save_snapshot(s).is_ok());
  ASSERT_TRUE(set_lock_days(repo(), 7, ctx()).is_ok());
  ForgetOptions o;
  o.snapshots = {s.id.hex()};
  EXPECT_FALSE(forget(repo(), o, ctx()).is_ok());
  clock_.advance(7 * 86400 * kNanosPerSecond);
  EXPECT_TRUE(forget(repo(), o, ctx()).is_ok());
}

TEST_F(RetentionLock, LockedSnapshotsCountAsKeptForTheEmptyGroupGuard) {
  put("2024-05-30T00:00:00Z", "a");
  ASSERT_TRUE(set_lock_days(repo(), 7, ctx()).is_ok());
  ForgetOptions o;
  o.policy.tags = {"never-set"};  // the policy alone would empty the group
  auto r = forget(repo(), o, ctx());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_TRUE(r->removed.empty());
  EXPECT_EQ(count(), 1u);
}

TEST_F(RetentionLock, CanOnlyBeRaised) {
  ASSERT_TRUE(set_lock_days(repo(), 10, ctx()).is_ok());
  Status lower = set_lock_days(repo(), 9, ctx());
  EXPECT_EQ(lower.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(lower.message(), "the retention lock can only be raised: it is 10 days, 9 was asked");
  // The stored config object carries it (what the next open reads).
  auto cfg = repo().read_sealed("config", as_bytes("config"));
  ASSERT_TRUE(cfg.is_ok());
  EXPECT_NE(as_string_view(*cfg).find("\"lock_days\":10"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::ops
