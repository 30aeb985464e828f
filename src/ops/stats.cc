#include "ops/stats.h"

#include <unordered_map>
#include <unordered_set>

#include "ops/tree_walk.h"

namespace lifeboat::ops {
namespace {

struct TreeTotals {
  uint64_t files = 0, bytes = 0;
};

class Counter {
 public:
  explicit Counter(repo::Repository& repo) : repo_(repo) {}

  // Totals of a tree, memoised by id, so shared subtrees are read once.
  Result<TreeTotals> totals(const repo::Id& id) {
    auto it = memo_.find(id);
    if (it != memo_.end()) return it->second;
    LB_ASSIGN_OR_RETURN(repo::Tree tree, repo_.load_tree(id));
    trees_++;
    TreeTotals t;
    for (const auto& n : tree.nodes) {
      if (n.type == repo::NodeType::kFile) {
        t.files++;
        t.bytes += n.size;
        for (const auto& b : n.content) blobs_.insert(b);
      } else if (n.type == repo::NodeType::kDir && n.subtree) {
        LB_ASSIGN_OR_RETURN(TreeTotals sub, totals(*n.subtree));
        t.files += sub.files;
        t.bytes += sub.bytes;
      }
    }
    memo_.emplace(id, t);
    return t;
  }

  std::unordered_set<repo::Id, repo::IdHash> blobs_;
  uint64_t trees_ = 0;

 private:
  repo::Repository& repo_;
  std::unordered_map<repo::Id, TreeTotals, repo::IdHash> memo_;
};

}  // namespace

Result<StatsResult> stats(repo::Repository& repo, const SnapshotFilter& filter) {
  LB_RETURN_IF_ERROR(repo.load_index());
  LB_ASSIGN_OR_RETURN(auto snaps, list_snapshots(repo, filter));
  StatsResult r;
  Counter counter(repo);
  for (const auto& s : snaps) {
    LB_ASSIGN_OR_RETURN(TreeTotals t, counter.totals(s.tree));
    r.snapshots++;
    r.total_files += t.files;
    r.total_size += t.bytes;
  }
  r.tree_blobs = counter.trees_;
  for (const auto& id : counter.blobs_) {
    auto loc = repo.locate(id);
    if (!loc) continue;
    r.unique_blobs++;
    r.unique_raw_size += loc->entry.raw_length;
    r.unique_stored_size += loc->entry.length;
  }
  LB_ASSIGN_OR_RETURN(auto packs, repo.list_packs());
  r.repo_packs = packs.size();
  for (const auto& p : packs) r.repo_size += p.size;
  repo.index().for_each([&](const repo::Id&, const repo::PackEntry& e) {
    r.repo_blobs++;
    r.repo_raw_size += e.raw_length;
  });
  return r;
}

}  // namespace lifeboat::ops
