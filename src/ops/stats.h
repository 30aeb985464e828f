// stats: how much the snapshots hold and how well the repository stores it.
#pragma once

#include <cstdint>

#include "ops/snapshot_select.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::ops {

struct StatsResult {
  uint64_t snapshots = 0;
  uint64_t total_files = 0;         // summed over the snapshots (what a restore of each would write)
  uint64_t total_size = 0;          // bytes, summed over the snapshots
  uint64_t unique_blobs = 0;        // data blobs the snapshots reference
  uint64_t unique_raw_size = 0;     // their plaintext bytes (after dedup)
  uint64_t unique_stored_size = 0;  // their bytes in packs (after compression and sealing)
  uint64_t tree_blobs = 0;
  uint64_t repo_packs = 0;
  uint64_t repo_size = 0;           // bytes of all packs
  uint64_t repo_blobs = 0;
  uint64_t repo_raw_size = 0;       // plaintext bytes of all blobs in the repository
};

Result<StatsResult> stats(repo::Repository& repo, const SnapshotFilter& filter);

}  // namespace lifeboat::ops
