#include "sources/fs/exclude.h"

#include <fnmatch.h>

#include <fstream>

namespace lifeboat::sources::fs {
namespace {

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) parts.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

bool match_from(const std::vector<std::string>& pat, size_t pi, const std::vector<std::string>& path, size_t si) {
  if (pi == pat.size()) return si == path.size();
  if (pat[pi] == "**") {
    for (size_t k = si; k <= path.size(); ++k)
      if (match_from(pat, pi + 1, path, k)) return true;
    return false;
  }
  if (si == path.size()) return false;
  if (fnmatch(pat[pi].c_str(), path[si].c_str(), 0) != 0) return false;
  return match_from(pat, pi + 1, path, si + 1);
}

}  // namespace

void ExcludeMatcher::add(std::string_view pattern) {
  raw_.emplace_back(pattern);
  Pattern p;
  p.anchored = pattern.starts_with('/');
  p.parts = split(pattern);
  if (p.parts.empty()) return;
  patterns_.push_back(std::move(p));
}

Status ExcludeMatcher::add_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status(ErrorCode::kInvalidArgument, "unable to read exclude file " + path);
  std::string line;
  while (std::getline(in, line)) {
    size_t b = line.find_first_not_of(" \t\r");
    size_t e = line.find_last_not_of(" \t\r");
    if (b == std::string::npos) continue;
    line = line.substr(b, e - b + 1);
    if (line.starts_with('#')) continue;
    add(line);
  }
  return Status::ok();
}

bool ExcludeMatcher::excluded(std::string_view absolute_path) const {
  if (patterns_.empty()) return false;
  std::vector<std::string> parts = split(absolute_path);
  for (const auto& p : patterns_) {
    if (p.anchored) {
      if (match_from(p.parts, 0, parts, 0)) return true;
    } else {
      for (size_t start = 0; start < parts.size(); ++start)
        if (match_from(p.parts, 0, parts, start)) return true;
    }
  }
  return false;
}

}  // namespace lifeboat::sources::fs
