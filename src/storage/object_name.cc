#include "storage/object_name.h"

#include <fmt/format.h>

namespace lifeboat::storage {
namespace {

bool valid_components(std::string_view name) {
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == ".." || part.starts_with(kTempPrefix)) return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

bool valid_object_name(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.back() == '/') return false;
  return valid_components(name);
}

bool valid_list_prefix(std::string_view prefix) {
  if (prefix.empty()) return true;
  if (prefix.front() == '/') return false;
  // The last component may be partial ("data/a" lists data/ab/...), but it
  // may still not be "." or ".." (or begin a temporary's name).
  if (prefix.back() == '/') prefix.remove_suffix(1);
  return !prefix.empty() && valid_components(prefix);
}

Status invalid_object_name(std::string_view name) {
  return Status(ErrorCode::kInvalidArgument, fmt::format("invalid object name \"{}\"", name));
}

}  // namespace lifeboat::storage
