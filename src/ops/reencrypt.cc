#include "ops/reencrypt.h"

#include <map>
#include <unordered_set>

#include <fmt/format.h>

#include "ops/audit.h"
#include "ops/locking.h"
#include "ops/repack.h"
#include "repo/audit.h"

namespace lifeboat::ops {

Result<ReencryptResult> reencrypt(repo::Repository& repo, std::string_view password, const ReencryptOptions& options,
                                  const OpContext& ctx) {
  if (repo.keys().write_only()) return write_only_refusal("key rotate --reencrypt");
  ReencryptResult result;
  std::vector<repo::Repository::KeyListing> keys;
  // Checked before the lock (so a refusal writes nothing) and again under it.
  auto precheck = [&]() -> Status {
    LB_ASSIGN_OR_RETURN(auto records, repo.list_names("condemned/"));
    if (!records.empty())
      return Status(ErrorCode::kInvalidArgument,
                    "prune has packs waiting for deletion; run `lifeboat prune` first, then rotate again");
    LB_ASSIGN_OR_RETURN(keys, repo.list_keys());
    result.removed_keys.clear();
    for (const auto& k : keys)
      if (k.info.id != repo.key_id()) result.removed_keys.push_back(k.info.id.short_hex());
    if (!result.removed_keys.empty() && !options.remove_other_keys)
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("{} other key(s) wrap the keys that --reencrypt retires and would stop working; pass "
                                "--remove-other-keys, then add their passwords again with `lifeboat key add`",
                                result.removed_keys.size()));
    return Status::ok();
  };
  LB_RETURN_IF_ERROR(precheck());
  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo, repo::LockKind::kExclusive, ctx, "key rotate --reencrypt"));
  LB_RETURN_IF_ERROR(precheck());
  repo::KeyFileInfo info;
  for (const auto& k : keys)
    if (k.info.id == repo.key_id()) info = k.info;
  info.created_ns = 0;

  // Write-only keys go first, and the shared key they held seals nothing
  // from here on (one that opened the repository before sees this lock,
  // sealed under a data key from now on, as exclusive); the keyring that
  // holds the shared key is removed with the old data keys.
  for (const auto& k : keys)
    if (k.info.write_only)
      LB_RETURN_IF_ERROR(repo.remove_key(k.info.id).with_context("unable to remove write-only key " + k.info.id.hex()));
  repo.stop_sharing();

  // Adopt orphan packs so that they are sealed again too.
  LB_RETURN_IF_ERROR(repo.load_index());
  LB_RETURN_IF_ERROR(repo.index_unindexed_packs().status());
  LB_ASSIGN_OR_RETURN(result.epoch, repo.rotate_data_key());

  // Every pack, each blob once.
  std::map<repo::Id, std::vector<repo::PackEntry>> packs;
  std::vector<repo::Id> index_files;
  LB_RETURN_IF_ERROR(repo.scan_index_files([&](const repo::Id& file, Result<std::vector<repo::IndexPack>> r) -> Status {
    if (!r.is_ok()) return r.status().with_context("run `lifeboat repair index` first");
    index_files.push_back(file);
    for (auto& p : *r) packs.emplace(p.pack_id, std::move(p.blobs));
    return Status::ok();
  }));
  std::unordered_set<repo::Id, repo::IdHash> seen;
  std::vector<std::vector<bool>> keep;
  keep.reserve(packs.size());
  std::vector<RepackSource> sources;
  for (const auto& [id, entries] : packs) {
    keep.emplace_back(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) keep.back()[i] = seen.insert(entries[i].id).second;
    sources.push_back({id, &entries, &keep.back()});
  }
  RepackStats stats;
  LB_ASSIGN_OR_RETURN(auto written, repack(repo, sources, ctx, "key rotate --reencrypt", stats));
  result.packs_read = packs.size();
  result.packs_written = stats.packs_written;
  result.bytes_written = stats.bytes_written;
  result.blobs = stats.blobs;
  LB_RETURN_IF_ERROR(write_index_batches(repo, std::move(written), options.packs_per_index_file));
  for (const auto& f : index_files) LB_RETURN_IF_ERROR(repo.remove("index/" + f.hex()));
  result.index_files = index_files.size();
  for (const auto& [id, entries] : packs) {
    Status s = repo.remove(repo::pack_name(id));
    if (!s.is_ok() && s.code() != ErrorCode::kNotFound) return s;
  }

  LB_ASSIGN_OR_RETURN(auto snapshot_ids, repo.list_snapshot_ids());
  for (const auto& id : snapshot_ids) {
    if (ctx.cancelled()) return Status(ErrorCode::kCancelled, "interrupted; the old keys still open everything");
    LB_RETURN_IF_ERROR(repo.reseal_if_stale("snapshots/" + id.hex(), repo::Repository::snapshot_aad(id)).status());
    result.snapshots++;
  }
  LB_ASSIGN_OR_RETURN(result.log_records, repo::reseal_audit(repo));
  LB_RETURN_IF_ERROR(repo.update_config(repo.config()));

  LB_ASSIGN_OR_RETURN(result.key_id, repo.retire_old_data_keys(password, info));
  Status audited = audit(repo, ctx, "key rotate --reencrypt", Status::ok(), {},
                         fmt::format("data key epoch {}; {} packs rewritten into {}; {} other keys removed",
                                     result.epoch, result.packs_read, result.packs_written, result.removed_keys.size()));
  LB_RETURN_IF_ERROR(audited);
  LB_RETURN_IF_ERROR(lock->release());
  return result;
}

}  // namespace lifeboat::ops
