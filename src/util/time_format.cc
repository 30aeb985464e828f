#include "util/time_format.h"

#include <cstdio>
#include <ctime>

#include <fmt/format.h>

#include "util/clock.h"

namespace lifeboat {
namespace {

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

struct tm to_calendar(int64_t ns, bool utc) {
  time_t secs = static_cast<time_t>(floor_div(ns, kNanosPerSecond));
  struct tm tm {};
  if (utc) gmtime_r(&secs, &tm); else localtime_r(&secs, &tm);
  return tm;
}

std::string format_rfc3339(int64_t ns, bool utc, int frac_digits) {
  int64_t frac = ns - floor_div(ns, kNanosPerSecond) * kNanosPerSecond;
  struct tm tm = to_calendar(ns, utc);
  std::string out = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", tm.tm_year + 1900, tm.tm_mon + 1,
                                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (frac_digits > 0) {
    std::string f = fmt::format("{:09d}", frac);
    out += "." + f.substr(0, static_cast<size_t>(frac_digits));
  }
  if (utc || tm.tm_gmtoff == 0) {
    out += "Z";
  } else {
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0) off = -off;
    out += fmt::format("{}{:02d}:{:02d}", sign, off / 3600, (off / 60) % 60);
  }
  return out;
}

std::string format_local(int64_t ns) {
  struct tm tm = to_calendar(ns, false);
  return fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

Result<int64_t> parse_time(std::string_view text) {
  auto bad = [&] {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("cannot parse time \"{}\": use RFC 3339 (2024-01-15T14:30:00Z) or "
                              "\"2024-01-15 14:30:00\" (local time)",
                              text));
  };
  int year, mon, day, hour = 0, min = 0, sec = 0;
  if (!digits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' || !digits(text, 5, 2, mon) ||
      text[7] != '-' || !digits(text, 8, 2, day))
    return bad();
  static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (mon < 1 || mon > 12 || day < 1 || day > kDaysInMonth[mon - 1] + (mon == 2 && leap ? 1 : 0))
    return bad();
  size_t pos = 10;
  bool date_only = pos == text.size();
  int64_t frac_ns = 0;
  bool has_zone = false;
  int64_t zone_offset_s = 0;
  if (!date_only) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return bad();
    ++pos;
    if (!digits(text, pos, 2, hour) || pos + 2 >= text.size() || text[pos + 2] != ':' ||
        !digits(text, pos + 3, 2, min))
      return bad();
    pos += 5;
    if (pos < text.size() && text[pos] == ':') {
      if (!digits(text, pos + 1, 2, sec)) return bad();
      pos += 3;
      if (pos < text.size() && text[pos] == '.') {
        ++pos;
        int64_t scale = 100'000'000;
        size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
          if (scale > 0) frac_ns += (text[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
        if (pos == start) return bad();
      }
    }
    if (hour > 23 || min > 59 || sec > 60) return bad();
    if (pos < text.size()) {
      if (text[pos] == 'Z' || text[pos] == 'z') {
        has_zone = true;
        ++pos;
      } else if (text[pos] == '+' || text[pos] == '-') {
        int zh, zm;
        if (!digits(text, pos + 1, 2, zh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
            !digits(text, pos + 4, 2, zm))
          return bad();
        zone_offset_s = (zh * 3600 + zm * 60) * (text[pos] == '-' ? -1 : 1);
        has_zone = true;
        pos += 6;
      }
    }
    if (pos != text.size()) return bad();
  }
  int64_t secs;
  if (has_zone) {
    secs = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec - zone_offset_s;
  } else {
    struct tm tm {};
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = date_only ? 23 : hour;
    tm.tm_min = date_only ? 59 : min;
    tm.tm_sec = date_only ? 59 : sec;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == static_cast<time_t>(-1)) return bad();
    secs = t;
    if (date_only) frac_ns = kNanosPerSecond - 1;
  }
  return secs * kNanosPerSecond + frac_ns;
}

std::string format_duration(int64_t ns) {
  double s = static_cast<double>(ns) / 1e9;
  if (s < 60) return fmt::format("{:.2f}s", s);
  int64_t total = static_cast<int64_t>(s);
  if (total < 3600) return fmt::format("{}m{:02d}s", total / 60, total % 60);
  return fmt::format("{}h{:02d}m{:02d}s", total / 3600, (total / 60) % 60, total % 60);
}

std::string format_bytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.2f} {}", v, kUnits[u]);
}

}  // namespace lifeboat
