#include "ops/repair.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "ops/audit.h"
#include "ops/locking.h"
#include "repo/blob_saver.h"

namespace lifeboat::ops {

Result<RepairIndexResult> repair_index(repo::Repository& repo, const RepairIndexOptions& options,
                                       const OpContext& ctx) {
  LB_ASSIGN_OR_RETURN(auto lock,
                      lock_repository(repo, repo::LockKind::kExclusive, ctx, "repair index", options.dry_run));
  LB_ASSIGN_OR_RETURN(auto old_files, repo.list_index_files());
  // Packs prune has condemned stay out of the index (an unreadable record
  // hides nothing: its packs are indexed again, which is safe).
  std::vector<std::string> bad_records;
  LB_RETURN_IF_ERROR(repo.load_condemned(&bad_records).status());
  LB_ASSIGN_OR_RETURN(auto packs, repo.list_packs());

  RepairIndexResult result;
  std::vector<repo::IndexPack> batch;
  Bytes data, plain;  // reused from pack to pack
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::ok();
    if (!options.dry_run) LB_RETURN_IF_ERROR(repo.write_index(batch).status());
    result.index_files_written++;
    batch.clear();
    return Status::ok();
  };
  for (const auto& p : packs) {
    if (ctx.cancelled()) return Status(ErrorCode::kCancelled, "repair interrupted; the old index is still in place");
    if (repo.condemned_index().has_pack(p.id)) continue;
    Result<std::vector<repo::PackEntry>> entries = Status(ErrorCode::kInternal, "");
    if (options.read_data) {
      // A pack that shows damage is read once more before anything is left
      // out: one bad response must not cost a pack its place in the index.
      std::vector<std::string> damaged;
      Status read = repo::reread_if_damaged([&]() -> Status {
        damaged.clear();
        Status r = repo.read_pack_into(p.id, 0, UINT64_MAX, data);
        entries = r.is_ok() ? repo::parse_pack_header(repo.keys(), p.id, data.size(), data)
                            : Result<std::vector<repo::PackEntry>>(r);
        if (!entries.is_ok()) return entries.status();
        // Only blobs that open and match their id stay in the index.
        std::erase_if(*entries, [&](const repo::PackEntry& e) {
          plain.clear();
          Bytes base;
          if (e.is_delta()) {
            // Its base lies elsewhere; a delta whose base cannot be read
            // is not this pack's damage (check names it), so it stays.
            auto b = repo.read_base(e.base);
            if (!b.is_ok()) return false;
            base = std::move(*b);
          }
          Status s = repo::open_blob(repo.keys(), e, ByteSpan(data).subspan(e.offset, e.length), plain, base);
          if (s.is_ok() && repo.keys().blob_id(plain) != e.id) s = Status(ErrorCode::kCorrupt, "content does not match its id");
          if (s.is_ok()) return false;
          damaged.push_back(fmt::format("pack {}: {} blob {}: {}", p.id.short_hex(), repo::blob_type_name(e.type),
                                        e.id.short_hex(), s.message()));
          return true;
        });
        return damaged.empty() ? Status::ok() : Status(ErrorCode::kCorrupt, "damaged blobs");
      });
      if (read.code() == ErrorCode::kNotFound) continue;  // removed meanwhile
      result.damaged_blobs.insert(result.damaged_blobs.end(), damaged.begin(), damaged.end());
    } else {
      entries = repo.read_pack_header(p.id, p.size);
    }
    if (!entries.is_ok()) {
      if (entries.status().code() == ErrorCode::kNotFound) continue;  // removed meanwhile
      result.damaged_packs.push_back(fmt::format("pack {}: {}", p.id.short_hex(), entries.status().message()));
      continue;
    }
    result.packs_indexed++;
    result.blobs_indexed += entries->size();
    batch.push_back({p.id, std::move(*entries)});
    if (batch.size() >= options.packs_per_index_file) LB_RETURN_IF_ERROR(flush());
  }
  LB_RETURN_IF_ERROR(flush());
  if (options.dry_run) {
    result.index_files_removed = old_files.size();
    return result;
  }
  // Only now, with the complete new index stored, do the old files go.
  for (const auto& id : old_files) {
    Status s = repo.remove("index/" + id.hex());
    if (!s.is_ok() && s.code() != ErrorCode::kNotFound) return s.with_context("unable to remove the old index");
    result.index_files_removed++;
  }
  LB_RETURN_IF_ERROR(audit(repo, ctx, "repair index",
                           result.damaged_packs.empty() && result.damaged_blobs.empty()
                               ? Status::ok()
                               : Status(ErrorCode::kCorrupt,
                                        fmt::format("{} damaged pack(s) and {} damaged blob(s) left out",
                                                    result.damaged_packs.size(), result.damaged_blobs.size())),
                           {},
                           fmt::format("{} packs, {} blobs, {} index files replaced", result.packs_indexed,
                                       result.blobs_indexed, result.index_files_removed)));
  LB_RETURN_IF_ERROR(lock->release());
  return result;
}

}  // namespace lifeboat::ops

namespace lifeboat::ops {
namespace {

class SnapshotRepairer {
 public:
  SnapshotRepairer(repo::Repository& repo, repo::BlobSaver* saver) : repo_(repo), saver_(saver) {}

  // The repaired tree's id (the same id when nothing under it is lost).
  repo::Id repair(const repo::Id& tree_id, const std::string& path, std::vector<std::string>& lost) {
    auto done = memo_.find(tree_id);
    if (done != memo_.end()) {
      lost.insert(lost.end(), done->second.lost.begin(), done->second.lost.end());
      return done->second.id;
    }
    Memo m;
    auto tree = repo_.locate(tree_id) ? repo_.load_tree(tree_id) : Result<repo::Tree>(Status(ErrorCode::kNotFound, "lost"));
    if (!tree.is_ok()) {
      m.lost.push_back(fmt::format("{}/ (directory lost: {}; now empty)", path, tree.status().message()));
      m.id = store(repo::Tree{});
    } else {
      bool changed = false;
      for (auto& node : tree->nodes) {
        std::string child = path + "/" + node.name;
        if (node.subtree) {
          repo::Id fixed = repair(*node.subtree, child, m.lost);
          changed = changed || fixed != *node.subtree;
          node.subtree = fixed;
        }
        if (!node.content.empty()) {
          size_t keep = 0;
          uint64_t bytes = 0;
          for (; keep < node.content.size(); ++keep) {
            auto loc = repo_.locate(node.content[keep]);
            if (!loc) break;
            bytes += loc->entry.raw_length;
          }
          if (keep < node.content.size()) {
            m.lost.push_back(fmt::format("{} ({} of {} blobs lost; truncated from {} to {} bytes)", child,
                                         node.content.size() - keep, node.content.size(), node.size, bytes));
            node.content.resize(keep);
            node.size = bytes;
            changed = true;
          }
        }
      }
      m.id = changed ? store(*tree) : tree_id;
    }
    lost.insert(lost.end(), m.lost.begin(), m.lost.end());
    auto id = m.id;
    memo_.emplace(tree_id, std::move(m));
    return id;
  }

 private:
  struct Memo {
    repo::Id id;
    std::vector<std::string> lost;
  };

  repo::Id store(const repo::Tree& tree) {
    Bytes data = repo::encode_tree(tree);
    if (!saver_) return repo_.keys().blob_id(data);  // dry run: the id it would get
    return saver_->save_if_new(repo::BlobType::kTree, std::move(data));
  }

  repo::Repository& repo_;
  repo::BlobSaver* saver_;
  std::map<repo::Id, Memo> memo_;
};

}  // namespace

Result<RepairSnapshotsResult> repair_snapshots(repo::Repository& repo, const RepairSnapshotsOptions& options,
                                               const OpContext& ctx) {
  LB_ASSIGN_OR_RETURN(auto lock,
                      lock_repository(repo, repo::LockKind::kExclusive, ctx, "repair snapshots", options.dry_run));
  LB_RETURN_IF_ERROR(repo.load_index());
  LB_ASSIGN_OR_RETURN(auto snaps, repo.load_snapshots());
  std::unique_ptr<repo::BlobSaver> saver;
  if (!options.dry_run) saver = std::make_unique<repo::BlobSaver>(repo, repo::BlobSaver::Options{});
  SnapshotRepairer repairer(repo, saver.get());
  RepairSnapshotsResult result;
  std::vector<repo::Snapshot> rewritten;
  for (const auto& s : snaps) {
    if (ctx.cancelled()) break;
    result.snapshots_checked++;
    RepairedSnapshot r;
    r.original = s.id;
    repo::Id tree = repairer.repair(s.tree, "", r.lost);
    if (r.lost.empty()) continue;
    repo::Snapshot fixed = s;
    fixed.tree = tree;
    fixed.original = s.id;
    if (std::find(fixed.tags.begin(), fixed.tags.end(), "repaired") == fixed.tags.end())
      fixed.tags.push_back("repaired");
    rewritten.push_back(std::move(fixed));
    result.repaired.push_back(std::move(r));
  }
  if (options.dry_run) return result;
  // The new trees are stored and indexed before any snapshot names them.
  LB_RETURN_IF_ERROR(saver->finish());
  if (ctx.cancelled()) return Status(ErrorCode::kCancelled, "repair interrupted; no snapshot was changed");
  std::vector<std::string> ids;
  for (size_t i = 0; i < rewritten.size(); ++i) {
    LB_RETURN_IF_ERROR(repo.save_snapshot(rewritten[i]));
    result.repaired[i].repaired = rewritten[i].id;
    ids.push_back(rewritten[i].id.hex());
    if (options.forget) {
      LB_RETURN_IF_ERROR(repo.remove("snapshots/" + rewritten[i].original->hex()));
      ids.push_back(rewritten[i].original->hex());
    }
  }
  size_t lost = 0;
  for (const auto& r : result.repaired) lost += r.lost.size();
  LB_RETURN_IF_ERROR(audit(repo, ctx, "repair snapshots", Status::ok(), std::move(ids),
                           fmt::format("{} snapshots rewritten, {} entries lost{}", rewritten.size(), lost,
                                       options.forget ? ", originals removed" : "")));
  LB_RETURN_IF_ERROR(lock->release());
  return result;
}

}  // namespace lifeboat::ops
