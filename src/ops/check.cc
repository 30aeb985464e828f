#include "ops/check.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "ops/locking.h"
#include "ops/tree_walk.h"
#include "util/utf8.h"

namespace lifeboat::ops {
namespace {

using repo::Id;
using repo::IdHash;

class Checker {
 public:
  Checker(repo::Repository& repo, const CheckOptions& options, const OpContext& ctx, CheckProgress* progress)
      : repo_(repo), options_(options), ctx_(ctx), progress_(progress ? progress : &own_progress_) {}

  Result<CheckResult> run();

 private:
  void error(std::string m) {
    std::lock_guard lock(mu_);
    result_.errors.push_back(std::move(m));
  }
  void damaged(const Id& blob, const Id& pack, std::string reason) {
    std::lock_guard lock(mu_);
    if (damaged_index_.count(blob)) return;
    damaged_index_.emplace(blob, result_.damaged.size());
    result_.damaged.push_back({blob, pack, std::move(reason), {}});
  }
  Status check_structure();
  // `data` and `plain` are the worker's buffers, reused from pack to pack.
  void check_pack_data(const repo::PackFile& pack, Bytes& data, Bytes& plain);
  void map_damage();

  repo::Repository& repo_;
  const CheckOptions& options_;
  const OpContext& ctx_;
  CheckProgress own_progress_;
  CheckProgress* progress_;
  std::mutex mu_;
  CheckResult result_;
  std::vector<repo::Snapshot> snapshots_;
  std::unordered_map<Id, uint64_t, IdHash> pack_sizes_;
  std::unordered_map<Id, std::vector<repo::PackEntry>, IdHash> index_by_pack_;
  std::unordered_map<Id, size_t, IdHash> damaged_index_;
  std::unordered_set<Id, IdHash> bad_trees_;
};

Status Checker::check_structure() {
  // Index files, one by one, so a damaged one is named and the rest still count.
  repo_.clear_index();
  LB_RETURN_IF_ERROR(repo_.scan_index_files([&](const Id&, Result<std::vector<repo::IndexPack>> packs) -> Status {
    result_.index_files++;
    if (!packs.is_ok()) {
      error(packs.status().message());
      return Status::ok();
    }
    for (auto& p : *packs) {
      repo_.index().add_pack(p.pack_id, p.blobs);
      auto& v = index_by_pack_[p.pack_id];
      v.insert(v.end(), p.blobs.begin(), p.blobs.end());
    }
    return Status::ok();
  }));
  // Packs prune has condemned are out of the index and wait for deletion;
  // reading falls back to them.
  std::vector<std::string> bad_records;
  LB_RETURN_IF_ERROR(repo_.load_condemned(&bad_records).status());
  for (auto& m : bad_records)
    error(m + " (its packs are kept: backups adopt no unindexed pack while it is unreadable)");
  LB_ASSIGN_OR_RETURN(auto packs, repo_.list_packs());
  result_.packs = packs.size();
  for (const auto& p : packs) pack_sizes_[p.id] = p.size;
  uint64_t unindexed = 0, condemned = 0;
  for (const auto& p : packs) {
    if (index_by_pack_.count(p.id)) continue;
    if (repo_.condemned_index().has_pack(p.id)) condemned++;
    else unindexed++;
  }
  if (unindexed)
    result_.notes.push_back(fmt::format(
        "{} pack(s) are not in the index (left by an interrupted or running backup; the next backup indexes "
        "them, prune removes what is unused)",
        unindexed));
  if (condemned)
    result_.notes.push_back(fmt::format(
        "{} pack(s) hold only unused data and wait for the next prune to delete them (once every operation that "
        "was running when they were condemned has ended)",
        condemned));
  for (const auto& [pack_id, entries] : index_by_pack_) {
    auto it = pack_sizes_.find(pack_id);
    if (it == pack_sizes_.end()) {
      error(fmt::format("pack {} is missing ({} blobs in the index)", pack_id.short_hex(), entries.size()));
      for (const auto& e : entries) damaged(e.id, pack_id, "its pack is missing");
      continue;
    }
    uint64_t end = 0;
    for (const auto& e : entries) end = std::max<uint64_t>(end, uint64_t{e.offset} + e.length);
    if (end + 4 > it->second) {
      error(fmt::format("pack {} is truncated: {} bytes, but the index places blobs up to byte {}",
                        pack_id.short_hex(), it->second, end));
      for (const auto& e : entries)
        if (uint64_t{e.offset} + e.length + 4 > it->second) damaged(e.id, pack_id, "its pack is truncated");
    }
  }
  result_.blobs = repo_.index().blob_count();
  // A delta is read through its base, which must be a whole data blob.
  for (const auto& [pack_id, entries] : index_by_pack_)
    for (const auto& e : entries) {
      if (!e.is_delta()) continue;
      auto base = repo_.locate(e.base);
      if (base && !base->entry.is_delta() && base->entry.type == repo::BlobType::kData) continue;
      std::string why = fmt::format("its base, blob {}, is {}", e.base.short_hex(),
                                    base ? "not a whole data blob" : "not in the index");
      error(fmt::format("pack {}: data blob {} is a delta, but {}", pack_id.short_hex(), e.id.short_hex(), why));
      damaged(e.id, pack_id, why);
    }

  std::vector<std::string> bad_snapshots;
  LB_ASSIGN_OR_RETURN(snapshots_, repo_.load_snapshots(&bad_snapshots));
  for (auto& m : bad_snapshots) error(std::move(m));
  result_.snapshots = snapshots_.size();

  // Trees: each unique tree once.
  std::unordered_set<Id, IdHash> seen_trees;
  std::unordered_set<Id, IdHash> missing_reported;
  std::vector<Id> stack;
  for (const auto& s : snapshots_) stack.push_back(s.tree);
  while (!stack.empty()) {
    if (ctx_.cancelled()) return Status(ErrorCode::kCancelled, "check interrupted");
    Id id = stack.back();
    stack.pop_back();
    if (!seen_trees.insert(id).second) continue;
    auto tree = repo_.load_tree(id);
    if (!tree.is_ok()) {
      bad_trees_.insert(id);
      auto loc = repo_.locate(id);
      damaged(id, loc ? loc->pack_id : Id{}, tree.status().message());
      error(fmt::format("tree {}: {}", id.short_hex(), tree.status().message()));
      continue;
    }
    result_.trees++;
    for (const auto& n : tree->nodes) {
      if (n.type == repo::NodeType::kDir) {
        if (n.subtree) stack.push_back(*n.subtree);
        else error(fmt::format("tree {}: directory {} has no subtree", id.short_hex(), escape_name(n.name)));
      }
      for (const auto& b : n.content) {
        if (repo_.locate(b)) continue;
        if (missing_reported.insert(b).second) {
          error(fmt::format("blob {} (data of {}) is not in the index", b.short_hex(), escape_name(n.name)));
          damaged(b, Id{}, "it is not in the index");
        }
      }
    }
  }
  return Status::ok();
}

void Checker::check_pack_data(const repo::PackFile& pack, Bytes& data, Bytes& plain) {
  auto fail_all = [&](const std::string& why) {
    error(fmt::format("pack {}: {}", pack.id.short_hex(), why));
    auto it = index_by_pack_.find(pack.id);
    if (it != index_by_pack_.end())
      for (const auto& e : it->second) damaged(e.id, pack.id, why);
  };
  Status read = repo_.read_pack_into(pack.id, 0, UINT64_MAX, data);
  if (read.code() == ErrorCode::kNotFound && !index_by_pack_.count(pack.id) &&
      repo_.condemned_index().has_pack(pack.id)) {
    return;  // condemned, and deleted by a prune since this check listed it
  }
  if (!read.is_ok()) return fail_all(read.message());
  progress_->bytes_done += data.size();
  {
    std::lock_guard lock(mu_);
    result_.bytes_read += data.size();
    result_.packs_read++;
  }
  if (data.size() != pack.size) return fail_all("changed size while being read");
  // Opens every blob; stops at the first failure when not reporting.
  Result<std::vector<repo::PackEntry>> header = Status(ErrorCode::kInternal, "unread");
  auto open_all = [&](bool report, auto&& on_damage) -> bool {
    header = repo::parse_pack_header(repo_.keys(), pack.id, data.size(), data);
    if (!header.is_ok()) return false;
    bool clean = true;
    for (const auto& e : *header) {
      plain.clear();
      ByteSpan sealed(data.data() + e.offset, e.length);
      Status s;
      Bytes base;
      if (e.is_delta()) {
        auto b = repo_.read_base(e.base);
        if (b.is_ok()) base = std::move(*b);
        else s = b.status().with_context(fmt::format("its base, blob {}", e.base.short_hex()));
      }
      if (s.is_ok()) s = repo::open_blob(repo_.keys(), e, sealed, plain, base);
      // (open_blob() has checked the id of a blob in a box already.)
      if (s.is_ok() && !repo::is_box(sealed) && repo_.keys().blob_id(plain) != e.id)
        s = Status(ErrorCode::kCorrupt, "content does not match its id");
      if (s.is_ok()) continue;
      clean = false;
      if (!report) return false;
      on_damage(e, s);
    }
    return clean;
  };
  auto report = [&](const repo::PackEntry& e, const Status& s) {
    auto listed = index_by_pack_.find(pack.id);
    bool indexed = listed != index_by_pack_.end() &&
                   std::any_of(listed->second.begin(), listed->second.end(),
                               [&](const repo::PackEntry& x) { return x.id == e.id && x.offset == e.offset; });
    if (!indexed && listed != index_by_pack_.end()) {
      // `repair index --read-data` left it out: nothing refers to this copy.
      std::lock_guard lock(mu_);
      result_.notes.push_back(fmt::format("pack {}: {} blob {} is damaged but no longer in the index (left out by "
                                          "repair); it stays there, unused, until prune repacks that pack",
                                          pack.id.short_hex(), repo::blob_type_name(e.type), e.id.short_hex()));
      return;
    }
    error(fmt::format("pack {}: {} blob {} is damaged: {}", pack.id.short_hex(), repo::blob_type_name(e.type),
                      e.id.short_hex(), s.message()));
    damaged(e.id, pack.id, s.message());
  };
  if (!open_all(false, report)) {
    // Damage in what came back: read once more before calling it damage at
    // rest (an object store's response can be damaged on the way), and
    // report what the second copy shows.
    read = repo_.read_pack_into(pack.id, 0, UINT64_MAX, data);
    if (!read.is_ok()) return fail_all(read.message());
    if (data.size() != pack.size) return fail_all("changed size while being read");
    open_all(true, report);
  }
  if (!header.is_ok()) return fail_all(header.status().message());
  std::unordered_map<Id, const repo::PackEntry*, IdHash> in_header;
  for (const auto& e : *header) in_header.emplace(e.id, &e);
  auto it = index_by_pack_.find(pack.id);
  if (it != index_by_pack_.end()) {
    for (const auto& e : it->second) {
      auto h = in_header.find(e.id);
      if (h == in_header.end() || h->second->offset != e.offset || h->second->length != e.length) {
        error(fmt::format("pack {}: the index places blob {} where the pack header does not", pack.id.short_hex(),
                          e.id.short_hex()));
        damaged(e.id, pack.id, "the index does not match the pack");
      }
    }
  }
}

// Walks every snapshot to name the files and directories that damaged blobs
// affect.
void Checker::map_damage() {
  if (result_.damaged.empty()) return;
  for (const auto& snap : snapshots_) {
    auto note = [&](const Id& blob, const std::string& what) {
      auto it = damaged_index_.find(blob);
      if (it == damaged_index_.end()) {
        auto loc = repo_.locate(blob);  // a delta of a damaged base is lost with it
        if (loc && loc->entry.is_delta()) it = damaged_index_.find(loc->entry.base);
      }
      if (it == damaged_index_.end()) return;
      auto& list = result_.damaged[it->second].affected;
      if (list.size() < 1000) list.push_back(fmt::format("snapshot {}: {}", snap.id.short_hex(), what));
    };
    note(snap.tree, "/ (the snapshot's root directory)");
    walk_tree(
        repo_, snap.tree, "/",
        [&](const std::string& path, const repo::Node& n) {
          for (const auto& b : n.content) note(b, escape_name(path));
          if (n.subtree) note(*n.subtree, escape_name(path) + "/ (directory listing)");
          return Visit::kDescend;
        },
        [](const std::string&, const Status&) {})
        .ignore();  // unreadable trees are already reported
  }
}

Result<CheckResult> Checker::run() {
  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo_, repo::LockKind::kShared, ctx_, "check"));
  LB_RETURN_IF_ERROR(check_structure());

  if (options_.read_data) {
    std::vector<repo::PackFile> packs;
    for (const auto& [id, size] : pack_sizes_) packs.push_back({id, size});
    std::sort(packs.begin(), packs.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    if (options_.read_fraction < 1.0) {
      result_.seed = options_.seed.value_or(std::random_device{}());
      std::mt19937_64 rng(result_.seed);
      std::shuffle(packs.begin(), packs.end(), rng);
      size_t n = static_cast<size_t>(std::ceil(options_.read_fraction * static_cast<double>(packs.size())));
      packs.resize(std::min(packs.size(), std::max<size_t>(n, packs.empty() ? 0 : 1)));
    }
    progress_->packs_total = packs.size();
    int workers = options_.workers > 0 ? options_.workers
                                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::atomic<size_t> next{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w)
      threads.emplace_back([&] {
        Bytes data, plain;
        for (size_t i; !ctx_.cancelled() && (i = next.fetch_add(1)) < packs.size();) {
          check_pack_data(packs[i], data, plain);
          progress_->packs_done++;
        }
      });
    for (auto& t : threads) t.join();
    if (ctx_.cancelled()) return Status(ErrorCode::kCancelled, "check interrupted");
  }
  map_damage();
  if (auto locks = repo::list_locks(repo_, ctx_.hostname); locks.is_ok()) {
    for (const auto& l : *locks)
      if (!l.readable)
        error(fmt::format("lock {} is damaged (it does not open with the repository key); remove it with "
                          "`lifeboat unlock --remove-all` when no other lifeboat process runs",
                          l.id.short_hex()));
  }
  LB_RETURN_IF_ERROR(lock->release());
  return std::move(result_);
}

}  // namespace

Result<CheckResult> check(repo::Repository& repo, const CheckOptions& options, const OpContext& ctx,
                          CheckProgress* progress) {
  if (repo.keys().write_only()) return write_only_refusal("check");
  Checker c(repo, options, ctx, progress);
  return c.run();
}

}  // namespace lifeboat::ops
