#include "ops/tree_walk.h"

namespace lifeboat::ops {

std::string child_path(const std::string& dir, const std::string& name) {
  return dir.empty() || dir == "/" ? "/" + name : dir + "/" + name;
}

namespace {

Status walk(const repo::Repository& repo, const repo::Id& tree_id, const std::string& base,
            const std::function<Visit(const std::string&, const repo::Node&)>& visit,
            const std::function<void(const std::string&, const Status&)>& on_error, bool& stop) {
  auto tree = repo.load_tree(tree_id);
  if (!tree.is_ok()) {
    if (!on_error) return tree.status().with_context("directory " + (base.empty() ? "/" : base));
    on_error(base.empty() ? "/" : base, tree.status());
    return Status::ok();
  }
  for (const auto& node : tree->nodes) {
    std::string path = child_path(base, node.name);
    Visit v = visit(path, node);
    if (v == Visit::kStop) {
      stop = true;
      return Status::ok();
    }
    if (v == Visit::kDescend && node.type == repo::NodeType::kDir && node.subtree) {
      LB_RETURN_IF_ERROR(walk(repo, *node.subtree, path, visit, on_error, stop));
      if (stop) return Status::ok();
    }
  }
  return Status::ok();
}

}  // namespace

Status walk_tree(const repo::Repository& repo, const repo::Id& tree_id, const std::string& base,
                 const std::function<Visit(const std::string&, const repo::Node&)>& visit,
                 const std::function<void(const std::string&, const Status&)>& on_error) {
  bool stop = false;
  return walk(repo, tree_id, base, visit, on_error, stop);
}

}  // namespace lifeboat::ops
