// repair: rebuilding what can be rebuilt from the packs themselves.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::ops {

struct RepairIndexOptions {
  bool dry_run = false;
  // Read every blob too (as check --read-data does) and leave out the ones
  // that do not authenticate or match their id, so that `repair snapshots`
  // treats them as lost; without it only pack headers are read.
  bool read_data = false;
  size_t packs_per_index_file = 2000;
};

struct RepairIndexResult {
  uint64_t packs_indexed = 0;
  uint64_t blobs_indexed = 0;
  uint64_t index_files_written = 0;
  uint64_t index_files_removed = 0;
  std::vector<std::string> damaged_packs;  // headers that do not authenticate: their blobs are lost
  std::vector<std::string> damaged_blobs;  // with read_data: blobs left out of the index
};

// Reads every pack's header and writes a complete new index from them, then
// removes the index files that existed before (damaged ones included). A
// pack whose header is damaged is reported and left alone. Takes the
// exclusive lock. Interrupted, it leaves old and new index files side by
// side, which is consistent (entries are identical or refer to valid packs).
Result<RepairIndexResult> repair_index(repo::Repository& repo, const RepairIndexOptions& options,
                                       const OpContext& ctx);

struct RepairSnapshotsOptions {
  bool dry_run = false;
  bool forget = false;  // remove each original once its repaired copy is stored
};

struct RepairedSnapshot {
  repo::Id original;
  std::optional<repo::Id> repaired;  // none in a dry run
  std::vector<std::string> lost;     // what is gone: paths, and how much of each
};

struct RepairSnapshotsResult {
  uint64_t snapshots_checked = 0;
  std::vector<RepairedSnapshot> repaired;
};

// Rewrites every snapshot that references data the index does not have (lost
// packs, after `repair index` left damaged ones out), so that everything
// still present restores: a file keeps its intact leading blobs (truncated
// at the first lost one), a directory whose tree is lost becomes empty. The
// new snapshot carries the tag "repaired" and names the original, which
// stays unless `forget`. Takes the exclusive lock.
Result<RepairSnapshotsResult> repair_snapshots(repo::Repository& repo, const RepairSnapshotsOptions& options,
                                               const OpContext& ctx);

}  // namespace lifeboat::ops
