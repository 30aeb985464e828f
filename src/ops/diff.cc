#include "ops/diff.h"

#include "ops/tree_walk.h"

namespace lifeboat::ops {
namespace {

using repo::Node;
using repo::NodeType;

class Differ {
 public:
  Differ(const repo::Repository& repo,
         const std::function<void(Change, const std::string&, const Node*, const Node*)>& emit)
      : repo_(repo), emit_(emit) {}

  Status compare(const std::optional<repo::Id>& a, const std::optional<repo::Id>& b, const std::string& base) {
    if (a == b) return Status::ok();
    repo::Tree ta, tb;
    if (a) {
      LB_ASSIGN_OR_RETURN(ta, repo_.load_tree(*a));
    }
    if (b) {
      LB_ASSIGN_OR_RETURN(tb, repo_.load_tree(*b));
    }
    size_t i = 0, j = 0;
    while (i < ta.nodes.size() || j < tb.nodes.size()) {
      if (j == tb.nodes.size() || (i < ta.nodes.size() && ta.nodes[i].name < tb.nodes[j].name)) {
        LB_RETURN_IF_ERROR(one_side(Change::kRemoved, ta.nodes[i++], base));
      } else if (i == ta.nodes.size() || tb.nodes[j].name < ta.nodes[i].name) {
        LB_RETURN_IF_ERROR(one_side(Change::kAdded, tb.nodes[j++], base));
      } else {
        LB_RETURN_IF_ERROR(both(ta.nodes[i++], tb.nodes[j++], base));
      }
    }
    return Status::ok();
  }

  DiffStats stats;

 private:
  void count(Change c, const Node& n) {
    switch (c) {
      case Change::kAdded: stats.added++; stats.added_bytes += n.size; break;
      case Change::kRemoved: stats.removed++; stats.removed_bytes += n.size; break;
      case Change::kModified: stats.modified++; break;
      case Change::kMetadata: stats.metadata++; break;
      case Change::kType: stats.type_changed++; break;
    }
  }

  // Reports an entry present on one side only, and everything below it.
  Status one_side(Change c, const Node& n, const std::string& base) {
    std::string path = child_path(base, n.name);
    emit_(c, path, c == Change::kRemoved ? &n : nullptr, c == Change::kAdded ? &n : nullptr);
    count(c, n);
    if (n.type == NodeType::kDir && n.subtree) {
      return walk_tree(repo_, *n.subtree, path, [&](const std::string& p, const Node& child) {
        emit_(c, p, c == Change::kRemoved ? &child : nullptr, c == Change::kAdded ? &child : nullptr);
        count(c, child);
        return Visit::kDescend;
      });
    }
    return Status::ok();
  }

  Status both(const Node& a, const Node& b, const std::string& base) {
    std::string path = child_path(base, a.name);
    if (a.type != b.type) {
      emit_(Change::kType, path, &a, &b);
      count(Change::kType, b);
      if (a.type == NodeType::kDir) return compare(a.subtree, std::nullopt, path);
      if (b.type == NodeType::kDir) return compare(std::nullopt, b.subtree, path);
      return Status::ok();
    }
    bool content = a.content != b.content || a.link_target != b.link_target || a.rdev != b.rdev;
    bool meta = a.mode != b.mode || a.uid != b.uid || a.gid != b.gid || a.mtime_ns != b.mtime_ns ||
                a.xattrs != b.xattrs;
    if (a.type != NodeType::kDir && content) {
      emit_(Change::kModified, path, &a, &b);
      count(Change::kModified, b);
    } else if (meta) {
      emit_(Change::kMetadata, path, &a, &b);
      count(Change::kMetadata, b);
    }
    if (a.type == NodeType::kDir) return compare(a.subtree, b.subtree, path);
    return Status::ok();
  }

  const repo::Repository& repo_;
  const std::function<void(Change, const std::string&, const Node*, const Node*)>& emit_;
};

}  // namespace

Result<DiffStats> diff(const repo::Repository& repo, const repo::Snapshot& a, const repo::Snapshot& b,
                       const std::function<void(Change, const std::string&, const Node*, const Node*)>& emit) {
  Differ d(repo, emit);
  LB_RETURN_IF_ERROR(d.compare(a.tree, b.tree, "/"));
  return d.stats;
}

}  // namespace lifeboat::ops
