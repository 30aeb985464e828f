// find: search snapshots for entries whose name (or, for a pattern with a
// '/', whose path) matches a glob.
#pragma once

#include <functional>
#include <string>

#include "ops/snapshot_select.h"
#include "repo/repository.h"
#include "repo/tree.h"
#include "util/status.h"

namespace lifeboat::ops {

struct FindOptions {
  std::string pattern;
  SnapshotFilter filter;
  std::vector<std::string> snapshots;  // limit to these refs; empty: all matching the filter
  bool ignore_case = false;
};

Status find(const repo::Repository& repo, const FindOptions& options,
            const std::function<void(const repo::Snapshot&, const std::string& path, const repo::Node&)>& emit);

}  // namespace lifeboat::ops
