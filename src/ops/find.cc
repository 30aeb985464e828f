#include "ops/find.h"

#include <fnmatch.h>

#include "ops/tree_walk.h"

namespace lifeboat::ops {

Status find(const repo::Repository& repo, const FindOptions& options,
            const std::function<void(const repo::Snapshot&, const std::string&, const repo::Node&)>& emit) {
  if (options.pattern.empty()) return Status(ErrorCode::kInvalidArgument, "empty pattern: give a name or glob");
  std::vector<repo::Snapshot> snaps;
  if (options.snapshots.empty()) {
    LB_ASSIGN_OR_RETURN(snaps, list_snapshots(repo, options.filter));
  } else {
    for (const auto& ref : options.snapshots) {
      LB_ASSIGN_OR_RETURN(auto s, find_snapshot(repo, ref, options.filter));
      snaps.push_back(std::move(s));
    }
  }
  bool by_path = options.pattern.find('/') != std::string::npos;
  // In a path pattern '*' and '?' stay within one component, as in a shell.
  int flags = (options.ignore_case ? FNM_CASEFOLD : 0) | (by_path ? FNM_PATHNAME : 0);
  for (const auto& snap : snaps) {
    LB_RETURN_IF_ERROR(walk_tree(repo, snap.tree, "/", [&](const std::string& path, const repo::Node& node) {
      const std::string& subject = by_path ? path : node.name;
      if (fnmatch(options.pattern.c_str(), subject.c_str(), flags) == 0) emit(snap, path, node);
      return Visit::kDescend;
    }));
  }
  return Status::ok();
}

}  // namespace lifeboat::ops
