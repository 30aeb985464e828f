#include "ops/retention.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "ops/snapshot_select.h"
#include "util/time_format.h"

namespace lifeboat::ops {
namespace {

std::string period(const struct tm& tm, const char* format) {
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

}  // namespace

Result<CalendarDuration> parse_calendar_duration(std::string_view text) {
  auto bad = [&] {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("invalid duration \"{}\": use numbers with units y, m (months), w, d, h, e.g. 35d or "
                              "1y6m",
                              text));
  };
  CalendarDuration d;
  if (text.empty()) return bad();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = pos;
    int64_t n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      n = n * 10 + (text[pos] - '0');
      if (n > 1'000'000) return bad();
      ++pos;
    }
    if (pos == start || pos == text.size()) return bad();
    int v = static_cast<int>(n);
    switch (text[pos]) {
      case 'y': d.years += v; break;
      case 'm': d.months += v; break;
      case 'w': d.weeks += v; break;
      case 'd': d.days += v; break;
      case 'h': d.hours += v; break;
      default: return bad();
    }
    ++pos;
  }
  return d;
}

std::string to_string(const CalendarDuration& d) {
  std::string w;
  if (d.years) w += fmt::format("{}y", d.years);
  if (d.months) w += fmt::format("{}m", d.months);
  if (d.weeks) w += fmt::format("{}w", d.weeks);
  if (d.days) w += fmt::format("{}d", d.days);
  if (d.hours) w += fmt::format("{}h", d.hours);
  return w.empty() ? "0h" : w;
}

int64_t subtract_duration(int64_t time_ns, const CalendarDuration& d, bool utc) {
  struct tm tm = to_calendar(time_ns, utc);
  int64_t sub_ns = time_ns % 1'000'000'000;
  if (sub_ns < 0) sub_ns += 1'000'000'000;
  tm.tm_year -= d.years;
  tm.tm_mon -= d.months;
  tm.tm_mday -= d.days + 7 * d.weeks;
  tm.tm_isdst = -1;
  time_t t = utc ? timegm(&tm) : mktime(&tm);
  t -= static_cast<time_t>(d.hours) * 3600;
  return int64_t{t} * 1'000'000'000 + sub_ns;
}

std::string RetentionPolicy::describe() const {
  std::vector<std::string> parts;
  auto count = [&](int n, const char* what) {
    if (n == -1) parts.push_back(fmt::format("all {}", what));
    else if (n > 0) parts.push_back(fmt::format("{} {}", n, what));
  };
  count(last, "last");
  count(hourly, "hourly");
  count(daily, "daily");
  count(weekly, "weekly");
  count(monthly, "monthly");
  count(yearly, "yearly");
  if (!within.empty()) parts.push_back("within " + to_string(within));
  for (const auto& t : tags) parts.push_back("tag " + t);
  std::string out = "keep ";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

std::vector<RetentionDecision> apply_policy(std::vector<repo::Snapshot> group, const RetentionPolicy& policy) {
  std::stable_sort(group.begin(), group.end(),
                   [](const repo::Snapshot& a, const repo::Snapshot& b) { return a.time_ns > b.time_ns; });
  struct Bucket {
    const char* reason;
    const char* format;  // strftime; nullptr: every snapshot is its own period (last)
    int left;
    std::string last_period;
    bool started = false;
  };
  Bucket buckets[] = {{"last", nullptr, policy.last},          {"hourly", "%Y-%m-%d %H", policy.hourly},
                      {"daily", "%Y-%m-%d", policy.daily},     {"weekly", "%G-W%V", policy.weekly},
                      {"monthly", "%Y-%m", policy.monthly},    {"yearly", "%Y", policy.yearly}};
  int64_t within_from = 0;
  bool use_within = !policy.within.empty() && !group.empty();
  if (use_within) within_from = subtract_duration(group.front().time_ns, policy.within, policy.utc);

  std::vector<RetentionDecision> out;
  out.reserve(group.size());
  for (size_t nr = 0; nr < group.size(); ++nr) {
    RetentionDecision d;
    d.snapshot = std::move(group[nr]);
    const repo::Snapshot& s = d.snapshot;
    for (const auto& tag : policy.tags) {
      SnapshotFilter f;
      f.tags = {tag};
      if (f.matches(s)) d.reasons.push_back("tag " + tag);
    }
    if (use_within && s.time_ns >= within_from) d.reasons.push_back("within " + to_string(policy.within));
    struct tm tm = to_calendar(s.time_ns, policy.utc);
    for (auto& b : buckets) {
      if (b.left == 0) continue;
      std::string p = b.format ? period(tm, b.format) : std::to_string(nr);
      if (b.started && p == b.last_period) continue;
      b.started = true;
      b.last_period = p;
      if (b.left > 0) b.left--;
      d.reasons.push_back(b.reason);
    }
    d.keep = !d.reasons.empty();
    out.push_back(std::move(d));
  }
  return out;
}

Result<GroupBy> parse_group_by(std::string_view text) {
  GroupBy g{false, false, false};
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view part = text.substr(start, end - start);
    if (part == "host") g.host = true;
    else if (part == "paths") g.paths = true;
    else if (part == "tags") g.tags = true;
    else if (!part.empty())
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("invalid --group-by \"{}\": use host, paths, tags (comma-separated), or \"\"", text));
    start = end + 1;
  }
  return g;
}

std::string group_key(const repo::Snapshot& s, const GroupBy& by) {
  auto joined = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + v[i];
    return out;
  };
  std::vector<std::string> parts;
  if (by.host) parts.push_back("host=" + s.hostname);
  if (by.paths) parts.push_back("paths=" + joined(s.paths));
  if (by.tags) parts.push_back("tags=" + joined(s.tags));
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? " " : "") + parts[i];
  return out;
}

std::map<std::string, std::vector<repo::Snapshot>> group_snapshots(std::vector<repo::Snapshot> snaps,
                                                                   const GroupBy& by) {
  std::map<std::string, std::vector<repo::Snapshot>> out;
  for (auto& s : snaps) {
    std::string key = group_key(s, by);
    out[key].push_back(std::move(s));
  }
  return out;
}

}  // namespace lifeboat::ops
