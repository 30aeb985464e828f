#include "ops/ls.h"

#include <fmt/format.h>

#include "ops/tree_walk.h"
#include "util/path.h"
#include "util/utf8.h"

namespace lifeboat::ops {

Status ls(const repo::Repository& repo, const repo::Snapshot& snapshot, const LsOptions& options,
          const std::function<void(const std::string&, const repo::Node&)>& emit) {
  std::string want = absolute_path(options.path, "/");
  bool found = want == "/";
  Status s = walk_tree(repo, snapshot.tree, "/", [&](const std::string& path, const repo::Node& node) {
    if (want == "/" || path == want || path.starts_with(want + "/")) {
      if (path == want) found = true;
      bool child_of_want = want == "/" ? path.rfind('/') == 0 : path.size() > want.size();
      if (options.recursive || path == want || child_of_want) emit(path, node);
      if (!options.recursive && child_of_want) return Visit::kSkip;
      return Visit::kDescend;
    }
    // Descend only towards `want`.
    return want.starts_with(path + "/") ? Visit::kDescend : Visit::kSkip;
  });
  LB_RETURN_IF_ERROR(s);
  if (!found)
    return Status(ErrorCode::kNotFound, fmt::format("{} is not in snapshot {}", escape_name(want),
                                                    snapshot.id.short_hex()));
  return Status::ok();
}

}  // namespace lifeboat::ops
