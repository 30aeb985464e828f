#include "ops/repair.h"

#include <fmt/format.h>

#include "ops/audit.h"
#include "repo/lock.h"

namespace lifeboat::ops {

Result<RepairIndexResult> repair_index(repo::Repository& repo, const RepairIndexOptions& options,
                                       const OpContext& ctx) {
  repo::LockOwner owner{ctx.hostname, ctx.username, ctx.pid, "repair index"};
  std::unique_ptr<repo::RepoLock> lock;
  if (!options.dry_run) {
    LB_ASSIGN_OR_RETURN(lock, repo::RepoLock::acquire(repo, true, owner));
  }
  LB_ASSIGN_OR_RETURN(auto old_files, repo.list_index_files());
  LB_ASSIGN_OR_RETURN(auto packs, repo.list_packs());

  RepairIndexResult result;
  std::vector<repo::IndexPack> batch;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::ok();
    if (!options.dry_run) LB_RETURN_IF_ERROR(repo.write_index(batch).status());
    result.index_files_written++;
    batch.clear();
    return Status::ok();
  };
  for (const auto& p : packs) {
    if (ctx.cancelled()) return Status(ErrorCode::kCancelled, "repair interrupted; the old index is still in place");
    auto entries = repo.read_pack_header(p.id, p.size);
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
                           result.damaged_packs.empty()
                               ? Status::ok()
                               : Status(ErrorCode::kCorrupt,
                                        fmt::format("{} damaged pack(s) left out", result.damaged_packs.size())),
                           {},
                           fmt::format("{} packs, {} blobs, {} index files replaced", result.packs_indexed,
                                       result.blobs_indexed, result.index_files_removed)));
  LB_RETURN_IF_ERROR(lock->release());
  return result;
}

}  // namespace lifeboat::ops
