// Formatting and parsing of points in time (RFC 3339 and the forms users type).
#pragma once

#include <ctime>

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace lifeboat {

// "2024-01-15T14:30:00.123456789+01:00" in local time, or with "Z" when utc.
// frac_digits is 0..9.
std::string format_rfc3339(int64_t ns, bool utc = false, int frac_digits = 9);

// The calendar fields of `ns` (floored to the second, also before 1970) in
// local time, or UTC.
struct tm to_calendar(int64_t ns, bool utc);

// "2024-01-15 14:30:00" in local time, for tables.
std::string format_local(int64_t ns);

// Parses a time a user typed. Accepted forms:
//   RFC 3339:           2024-01-15T14:30:00Z, 2024-01-15T14:30:00.5+01:00
//   local date and time: "2024-01-15 14:30:00", "2024-01-15 14:30", "2024-01-15T14:30:00"
//   a date alone:        "2024-01-15" means the end of that day in local time
//                        (23:59:59.999999999), so "--at DATE" finds the last
//                        backup taken on or before that day.
Result<int64_t> parse_time(std::string_view text);

// "1.23s", "2m03s", "1h02m03s" for summaries.
std::string format_duration(int64_t ns);
// "1.50 GiB", "512 B".
std::string format_bytes(uint64_t bytes);

}  // namespace lifeboat
