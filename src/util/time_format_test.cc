#include "util/time_format.h"

#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "util/clock.h"

namespace lifeboat {
namespace {

constexpr int64_t kS = kNanosPerSecond;

// Sets the process time zone for one test (a POSIX TZ string needs no tzdata).
class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTimeZone() {
    if (old_) ::setenv("TZ", old_->c_str(), 1);
    else ::unsetenv("TZ");
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

// Central European time: UTC+1 in winter, UTC+2 in summer.
constexpr const char* kCet = "CET-1CEST,M3.5.0,M10.5.0/3";

int64_t parsed(std::string_view text) {
  auto r = parse_time(text);
  EXPECT_TRUE(r.is_ok()) << text << ": " << r.status().message();
  return r.is_ok() ? *r : -1;
}

TEST(ParseTime, Rfc3339Utc) {
  EXPECT_EQ(parsed("2024-01-15T14:30:00Z"), 1705329000 * kS);
  EXPECT_EQ(parsed("2024-01-15t14:30:00z"), 1705329000 * kS);
  EXPECT_EQ(parsed("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parsed("1969-12-31T23:59:59Z"), -1 * kS);
  EXPECT_EQ(parsed("2024-02-29T12:00:00Z"), 1709208000 * kS);
}

TEST(ParseTime, Rfc3339Offsets) {
  EXPECT_EQ(parsed("2024-01-15T14:30:00+01:00"), 1705325400 * kS);
  EXPECT_EQ(parsed("2024-01-15T14:30:00-05:30"), (1705329000 + 5 * 3600 + 1800) * kS);
  EXPECT_EQ(parsed("2024-01-15T14:30:00+00:00"), 1705329000 * kS);
}

TEST(ParseTime, Rfc3339Fraction) {
  EXPECT_EQ(parsed("2024-01-15T14:30:00.5+01:00"), 1705325400 * kS + 500'000'000);
  EXPECT_EQ(parsed("2024-01-15T14:30:00.123456789Z"), 1705329000 * kS + 123'456'789);
  EXPECT_EQ(parsed("2024-01-15T14:30:00.000000001Z"), 1705329000 * kS + 1);
  // Digits past nanoseconds are dropped, not rounded.
  EXPECT_EQ(parsed("2024-01-15T14:30:00.1234567899Z"), 1705329000 * kS + 123'456'789);
}

TEST(ParseTime, LocalDateAndTime) {
  ScopedTimeZone tz(kCet);
  EXPECT_EQ(parsed("2024-01-15 14:30:00"), 1705325400 * kS);
  EXPECT_EQ(parsed("2024-01-15 14:30"), 1705325400 * kS);
  EXPECT_EQ(parsed("2024-01-15T14:30:00"), 1705325400 * kS);
  // Summer time: UTC+2.
  EXPECT_EQ(parsed("2024-07-15 14:30:00"), 1721046600 * kS);
}

TEST(ParseTime, DateAloneIsEndOfThatDayLocal) {
  ScopedTimeZone tz(kCet);
  // 2024-01-15 23:59:59.999999999 CET == 22:59:59.999999999Z
  EXPECT_EQ(parsed("2024-01-15"), 1705359599 * kS + 999'999'999);
  EXPECT_EQ(parsed("2024-01-15") + 1, parsed("2024-01-16 00:00:00"));
}

TEST(ParseTime, RejectsGarbageWithUsageMessage) {
  for (const char* text : {"", "yesterday", "2024", "2024/01/15", "2024-1-15", "2024-13-01", "2024-00-10",
                           "2024-01-32", "2024-01-00", "2024-01-15T25:00:00Z", "2024-01-15T14:60:00Z",
                           "2024-01-15 14", "2024-01-15T14:30:00+0100", "2024-01-15T14:30:00Zjunk",
                           "2024-01-15T14:30:00.Z", "2024-01-15T14:30:00 ", " 2024-01-15", "2024-01-15x",
                           "2024-01-15T14:30:00+01"}) {
    auto r = parse_time(text);
    ASSERT_FALSE(r.is_ok()) << "accepted \"" << text << "\"";
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(),
              std::string("cannot parse time \"") + text +
                  "\": use RFC 3339 (2024-01-15T14:30:00Z) or \"2024-01-15 14:30:00\" (local time)");
  }
}

// A date that does not exist must not silently become another day
// ("2024-02-30" would otherwise select snapshots up to March 1st).
TEST(ParseTime, RejectsDayThatDoesNotExistInMonth) {
  ScopedTimeZone tz(kCet);
  for (const char* text : {"2024-02-30", "2023-02-29", "2024-04-31T00:00:00Z", "2024-06-31 12:00:00"}) {
    auto r = parse_time(text);
    EXPECT_FALSE(r.is_ok()) << "accepted \"" << text << "\" as " << (r.is_ok() ? format_rfc3339(*r, true) : "");
    if (!r.is_ok()) {
      EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    }
  }
}

TEST(FormatRfc3339, UtcLayout) {
  int64_t t = 1705329000 * kS + 123'456'789;
  EXPECT_EQ(format_rfc3339(t, true), "2024-01-15T14:30:00.123456789Z");
  EXPECT_EQ(format_rfc3339(t, true, 3), "2024-01-15T14:30:00.123Z");
  EXPECT_EQ(format_rfc3339(t, true, 0), "2024-01-15T14:30:00Z");
  EXPECT_EQ(format_rfc3339(0, true), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(format_rfc3339(-1, true), "1969-12-31T23:59:59.999999999Z");
}

TEST(FormatRfc3339, LocalLayoutHasOffset) {
  ScopedTimeZone tz(kCet);
  EXPECT_EQ(format_rfc3339(1705329000 * kS, false, 0), "2024-01-15T15:30:00+01:00");
  EXPECT_EQ(format_rfc3339(1721046600 * kS, false, 0), "2024-07-15T14:30:00+02:00");
  EXPECT_EQ(format_local(1705329000 * kS), "2024-01-15 15:30:00");
}

TEST(FormatRfc3339, RoundTripsThroughParseTime) {
  ScopedTimeZone tz(kCet);
  for (int64_t t : {int64_t{0}, int64_t{1}, int64_t{-1}, 1705329000 * kS + 123'456'789, int64_t{1721046600123456789},
                    -86400 * kS * 365 + 7, int64_t{4102444800} * kS - 1}) {
    EXPECT_EQ(parsed(format_rfc3339(t, true)), t) << format_rfc3339(t, true);
    EXPECT_EQ(parsed(format_rfc3339(t, false)), t) << format_rfc3339(t, false);
  }
}

TEST(FormatDuration, Examples) {
  EXPECT_EQ(format_duration(1'230'000'000), "1.23s");
  EXPECT_EQ(format_duration(0), "0.00s");
  EXPECT_EQ(format_duration(123 * kS), "2m03s");
  EXPECT_EQ(format_duration(3599 * kS), "59m59s");
}

TEST(FormatBytes, Examples) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(format_bytes(uint64_t{3} << 29), "1.50 GiB");
}

}  // namespace
}  // namespace lifeboat
