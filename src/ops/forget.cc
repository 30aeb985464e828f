#include "ops/forget.h"

#include <algorithm>

#include <fmt/format.h>

#include "ops/audit.h"
#include "ops/locking.h"
#include "ops/pg_basebackup.h"
#include "ops/wal.h"
#include "util/time_format.h"

namespace lifeboat::ops {

int64_t locked_until(const repo::Snapshot& s, int64_t lock_ns) {
  // The later of the recorded time and when the snapshot was written: a
  // backup stored with an old --time is still locked from its writing.
  return std::max(s.time_ns, s.summary.backup_end_ns) + lock_ns;
}

Result<ForgetResult> forget(repo::Repository& repo, const ForgetOptions& options, const OpContext& ctx) {
  bool by_id = !options.snapshots.empty();
  if (by_id && !options.policy.empty())
    return Status(ErrorCode::kInvalidArgument, "give either snapshot ids or --keep-* options, not both");
  if (!by_id && options.policy.empty())
    return Status(ErrorCode::kInvalidArgument,
                  "no policy given: use --keep-last/--keep-daily/... or name the snapshots to forget");
  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo, repo::LockKind::kDelete, ctx, "forget", options.dry_run));

  ForgetResult result;
  if (by_id) {
    ForgetGroup g;
    for (const auto& ref : options.snapshots) {
      LB_ASSIGN_OR_RETURN(auto s, find_snapshot(repo, ref, options.filter));
      RetentionDecision d;
      d.snapshot = std::move(s);
      d.keep = false;
      d.reasons.push_back("named");
      g.decisions.push_back(std::move(d));
    }
    result.groups.push_back(std::move(g));
  } else {
    LB_ASSIGN_OR_RETURN(auto snaps, list_snapshots(repo, options.filter));
    for (auto& [key, group] : group_snapshots(std::move(snaps), options.group_by)) {
      result.groups.push_back(ForgetGroup{key, apply_policy(std::move(group), options.policy)});
    }
  }
  // The retention lock overrides every policy and every id.
  if (repo.config().lock_days > 0) {
    int64_t lock_ns = int64_t{repo.config().lock_days} * 86400 * kNanosPerSecond;
    int64_t now = repo.clock().now_ns();
    for (auto& g : result.groups)
      for (auto& d : g.decisions) {
        int64_t until = locked_until(d.snapshot, lock_ns);
        if (d.keep || until <= now) continue;
        if (by_id)
          return Status(ErrorCode::kInvalidArgument,
                        fmt::format("snapshot {} is under the repository's {}-day retention lock until {}; nothing "
                                    "was removed",
                                    d.snapshot.id.short_hex(), repo.config().lock_days, format_local(until)));
        d.keep = true;
        d.reasons = {"locked until " + format_local(until)};
      }
  }
  // A policy may not empty a group (snapshots kept by the lock count).
  for (const auto& g : result.groups) {
    if (by_id || options.allow_empty) break;
    bool any_kept = std::any_of(g.decisions.begin(), g.decisions.end(), [](const auto& d) { return d.keep; });
    if (!any_kept && !g.decisions.empty())
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("the policy ({}) would remove all {} snapshots of group \"{}\"; nothing was "
                                "removed (pass --allow-empty if that is intended)",
                                options.policy.describe(), g.decisions.size(), g.key));
  }
  std::vector<uint64_t> clusters;  // of the base backups forgotten
  for (const auto& g : result.groups)
    for (const auto& d : g.decisions)
      if (!d.keep) {
        result.removed.push_back(d.snapshot.id);
        if (auto info = pg_base_info(d.snapshot); info.is_ok()) clusters.push_back(info->system_id);
      }
  std::sort(clusters.begin(), clusters.end());
  clusters.erase(std::unique(clusters.begin(), clusters.end()), clusters.end());
  int64_t wal_locked_after =
      repo.config().lock_days > 0 ? repo.clock().now_ns() - int64_t{repo.config().lock_days} * 86400 * kNanosPerSecond : 0;
  if (options.dry_run) return result;  // (WAL is counted when it goes)

  std::vector<repo::Id> done;
  for (const auto& id : result.removed) {
    if (ctx.cancelled()) break;
    Status s = repo.remove("snapshots/" + id.hex());
    if (s.is_ok() || s.code() == ErrorCode::kNotFound) done.push_back(id);
    else result.errors.push_back(fmt::format("unable to remove snapshot {}: {}", id.short_hex(), s.message()));
  }
  result.removed = std::move(done);
  for (uint64_t id : clusters) {
    auto expired = expire_wal(repo, id, wal_locked_after);
    if (!expired.is_ok()) {
      result.errors.push_back(expired.status().message());
      continue;
    }
    result.wal_files_removed += expired->files;
    result.wal_bytes_removed += expired->bytes;
  }
  std::vector<std::string> ids;
  for (const auto& id : result.removed) ids.push_back(id.hex());
  Status outcome = result.errors.empty()
                       ? Status::ok()
                       : Status(ErrorCode::kIo, fmt::format("{} snapshots could not be removed", result.errors.size()));
  Status audited = audit(repo, ctx, "forget", outcome, std::move(ids),
                         by_id ? "by id" : options.policy.describe());
  if (!audited.is_ok()) result.errors.push_back(audited.message());
  LB_RETURN_IF_ERROR(lock->release());
  if (ctx.cancelled()) return Status(ErrorCode::kCancelled, "forget interrupted");
  return result;
}

}  // namespace lifeboat::ops
