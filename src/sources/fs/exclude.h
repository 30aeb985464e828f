// Exclude patterns for backup (--exclude, --exclude-file), with restic's
// semantics:
//   - a pattern is matched against the absolute path, component by
//     component, each with fnmatch(3) ("*" does not cross "/");
//   - "**" matches any number of components;
//   - a pattern starting with "/" is anchored at the root; otherwise it may
//     match starting at any component ("*.tmp", "cache/*", "node_modules");
//   - an excluded directory is not descended into.
// In an exclude file, empty lines and lines starting with '#' are ignored;
// leading and trailing blanks are trimmed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace lifeboat::sources::fs {

class ExcludeMatcher {
 public:
  void add(std::string_view pattern);
  Status add_file(const std::string& path);
  bool empty() const { return patterns_.empty(); }
  bool excluded(std::string_view absolute_path) const;
  const std::vector<std::string>& patterns() const { return raw_; }

 private:
  struct Pattern {
    bool anchored = false;
    std::vector<std::string> parts;
  };
  std::vector<Pattern> patterns_;
  std::vector<std::string> raw_;
};

}  // namespace lifeboat::sources::fs
