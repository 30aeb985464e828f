// Retention policies: which snapshots `forget` keeps.
//
// The semantics are restic's (`restic forget`), so runbooks carry over:
// within each group (by default: same host and same paths) snapshots are
// visited newest first;
//   --keep-last N      keeps the N newest;
//   --keep-hourly N ... --keep-yearly N keep, for each of the N newest
//                      hours/days/ISO weeks/months/years that have a
//                      snapshot, the newest snapshot of that period;
//   --keep-within D    keeps every snapshot taken within D of the group's
//                      newest snapshot (calendar arithmetic: 1y2m3d4h);
//   --keep-tag T       keeps every snapshot carrying tag T (not counted).
// A count of -1 means "unlimited". Periods are read in local time, or UTC
// with `utc`. A snapshot is kept if any rule keeps it; the decision lists
// every rule that did.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "repo/snapshot.h"
#include "util/status.h"

namespace lifeboat::ops {

// "1y2m3d4h" (years, months, weeks, days, hours in any combination).
struct CalendarDuration {
  int years = 0, months = 0, weeks = 0, days = 0, hours = 0;
  bool empty() const { return years == 0 && months == 0 && weeks == 0 && days == 0 && hours == 0; }
};
Result<CalendarDuration> parse_calendar_duration(std::string_view text);
std::string to_string(const CalendarDuration& d);  // "1y6m", "35d"
// `time_ns` moved back by `d` in local time (or UTC): 2024-03-31 - 1m is
// 2024-03-02 as mktime normalises it, like Go's AddDate in restic.
int64_t subtract_duration(int64_t time_ns, const CalendarDuration& d, bool utc);

struct RetentionPolicy {
  int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;  // -1: unlimited
  CalendarDuration within;
  std::vector<std::string> tags;  // any of these entries; "a,b" needs both
  bool utc = false;

  bool empty() const {
    return last == 0 && hourly == 0 && daily == 0 && weekly == 0 && monthly == 0 && yearly == 0 &&
           within.empty() && tags.empty();
  }
  // "keep 7 daily, 4 weekly" for messages.
  std::string describe() const;
};

struct RetentionDecision {
  repo::Snapshot snapshot;
  bool keep = false;
  std::vector<std::string> reasons;  // "last", "daily", "weekly", "within 35d", "tag nightly", ...
};

// Applies `policy` to one group; returns the decisions newest first.
std::vector<RetentionDecision> apply_policy(std::vector<repo::Snapshot> group, const RetentionPolicy& policy);

// How snapshots are grouped before the policy applies: any of "host",
// "paths", "tags" (comma-separated), or "" for one group.
struct GroupBy {
  bool host = true, paths = true, tags = false;
};
Result<GroupBy> parse_group_by(std::string_view text);
// Group key for display and JSON ("host=db1 paths=/etc,/home").
std::string group_key(const repo::Snapshot& s, const GroupBy& by);
std::map<std::string, std::vector<repo::Snapshot>> group_snapshots(std::vector<repo::Snapshot> snaps,
                                                                   const GroupBy& by);

}  // namespace lifeboat::ops
