// Lexical path helpers (no file-system access).
#pragma once

#include <string>

namespace lifeboat {

// Normalises `path` against `working_dir`: absolute, without ".", "..",
// repeated or trailing slashes. Does not resolve symlinks.
std::string absolute_path(const std::string& path, const std::string& working_dir);

}  // namespace lifeboat
