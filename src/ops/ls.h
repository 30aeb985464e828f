// ls: list the entries of a snapshot, optionally below a path.
#pragma once

#include <functional>
#include <string>

#include "repo/repository.h"
#include "repo/snapshot.h"
#include "repo/tree.h"
#include "util/status.h"

namespace lifeboat::ops {

struct LsOptions {
  std::string path = "/";  // list this entry and everything below it
  bool recursive = true;   // false: only the entry and its direct children
};

// Calls `emit` for each entry. kNotFound if `path` is not in the snapshot.
Status ls(const repo::Repository& repo, const repo::Snapshot& snapshot, const LsOptions& options,
          const std::function<void(const std::string& path, const repo::Node& node)>& emit);

}  // namespace lifeboat::ops
