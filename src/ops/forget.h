// forget: removes snapshots, by a retention policy or by id. Only the
// snapshot objects go; the data they referenced stays until prune.
#pragma once

#include <string>
#include <vector>

#include "ops/context.h"
#include "ops/retention.h"
#include "ops/snapshot_select.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::ops {

struct ForgetOptions {
  RetentionPolicy policy;
  GroupBy group_by;
  SnapshotFilter filter;               // only these snapshots are considered
  std::vector<std::string> snapshots;  // explicit ids/prefixes instead of a policy
  bool dry_run = false;
  bool allow_empty = false;  // let a policy remove every snapshot of a group
};

struct ForgetGroup {
  std::string key;
  std::vector<RetentionDecision> decisions;  // newest first
};

struct ForgetResult {
  std::vector<ForgetGroup> groups;
  std::vector<repo::Id> removed;  // with dry_run: what would be removed
  std::vector<std::string> errors;
  // WAL no remaining base backup needs, removed with the base backups
  // (with dry_run: what would be).
  size_t wal_files_removed = 0;
  uint64_t wal_bytes_removed = 0;
};

// The end of a snapshot's retention lock, for a lock of `lock_ns`.
int64_t locked_until(const repo::Snapshot& s, int64_t lock_ns);

// Snapshots under the repository's retention lock (config lock_days) are
// kept whatever the policy says; naming one is an error.
// kInvalidArgument for an empty policy without ids, for a policy that would
// empty a group (unless allow_empty), and for ids mixed with a policy.
// Nothing is removed when any check fails.
Result<ForgetResult> forget(repo::Repository& repo, const ForgetOptions& options, const OpContext& ctx);

}  // namespace lifeboat::ops
