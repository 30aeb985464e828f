// Depth-first traversal of a snapshot's trees, shared by ls, find, diff,
// stats and check.
#pragma once

#include <functional>
#include <string>

#include "repo/repository.h"
#include "repo/tree.h"
#include "util/status.h"

namespace lifeboat::ops {

// What the visitor tells the walk to do next.
enum class Visit { kDescend, kSkip, kStop };

// Calls `visit(path, node)` for every entry below `tree_id`, in name order,
// parents before children; `path` is the entry's absolute path in the
// snapshot ("/home/a/file"). A tree that cannot be loaded fails the walk
// unless `on_error` is given, which then receives it and the walk goes on.
Status walk_tree(const repo::Repository& repo, const repo::Id& tree_id, const std::string& base,
                 const std::function<Visit(const std::string& path, const repo::Node& node)>& visit,
                 const std::function<void(const std::string& path, const Status&)>& on_error = nullptr);

std::string child_path(const std::string& dir, const std::string& name);

}  // namespace lifeboat::ops
