// Sizes as users type them: "500", "64k", "10M", "2G", "1T" (powers of 1024,
// as restic and borg read them; an optional trailing "B" or "iB").
#pragma once

#include <cstdint>
#include <string_view>

#include "util/status.h"

namespace lifeboat {

// kInvalidArgument, naming the text, for anything else (negative, empty,
// unknown unit, overflow).
Result<uint64_t> parse_size(std::string_view text);

}  // namespace lifeboat
