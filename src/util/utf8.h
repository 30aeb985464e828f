// UTF-8 checks and escaping of arbitrary byte strings (file names may be any
// bytes but '/' and NUL) for terminals and JSON.
#pragma once

#include <string>
#include <string_view>

namespace lifeboat {

bool is_valid_utf8(std::string_view s);

// Makes a name safe to print on one line and to put into JSON: invalid UTF-8
// bytes become "\xNN", control characters "\n", "\t", "\xNN" (C1 controls
// "\u0080".."\u009f"), and a backslash "\\". Valid printable UTF-8 passes
// through unchanged.
std::string escape_name(std::string_view s);

}  // namespace lifeboat
