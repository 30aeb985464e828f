// prune: removes data that no snapshot references, while backups go on.
//
// Deletion has two phases (docs/FORMAT.md, "Prune"). Mark: packs whose blobs
// are all unused, and packs repacked because too much of them is unused,
// leave the index and are recorded as condemned, with the lock sessions
// alive at that moment. Sweep: once all those sessions have ended, a later
// prune (or this one, when no other operation was running) deletes the
// condemned packs, after putting back into the index any blob that a
// snapshot stored meanwhile references. Prune takes the delete lock, which
// backups, restores and checks do not wait for.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::ops {

struct PruneOptions {
  bool dry_run = false;
  // Unused bytes tolerated in the packs that are kept. As a fraction, of the
  // repository after prune (restic's meaning: 0.05 leaves at most 5% of the
  // packed bytes unused); or an absolute number of bytes. Packs with the
  // most unused bytes are repacked first until the limit holds.
  double max_unused_fraction = 0.05;
  std::optional<uint64_t> max_unused_bytes;  // overrides the fraction
  // At most this many bytes of packs are repacked in one run.
  std::optional<uint64_t> max_repack_bytes;
  size_t packs_per_index_file = 2000;
  // Snapshots to treat as gone (`forget --prune --dry-run`, where forget has
  // not removed them).
  std::vector<repo::Id> assume_forgotten;
};

struct PruneResult {
  // The repository as prune found it (indexed packs only).
  uint64_t snapshots = 0;
  uint64_t packs = 0;
  uint64_t pack_bytes = 0;
  uint64_t used_blobs = 0;
  uint64_t used_bytes = 0;
  uint64_t unused_blobs = 0;  // duplicates included
  uint64_t unused_bytes = 0;
  uint64_t duplicate_blobs = 0;
  uint64_t unindexed_packs = 0;  // left alone: a running or interrupted backup's

  // This run's mark (with dry_run: what it would do).
  uint64_t packs_unused = 0;  // wholly unused: condemned as they are
  uint64_t packs_repacked = 0;
  uint64_t bytes_repacked = 0;  // of the packs read to repack
  uint64_t blobs_repacked = 0;
  uint64_t bytes_written = 0;  // of the new packs
  uint64_t packs_written = 0;
  uint64_t bytes_condemned = 0;  // of the packs condemned: what the sweep frees
  uint64_t unused_bytes_after = 0;
  uint64_t index_files_replaced = 0;

  // Sweeps: condemned packs deleted by this run, and those still waiting.
  uint64_t packs_deleted = 0;
  uint64_t bytes_deleted = 0;
  uint64_t blobs_rescued = 0;  // referenced by a snapshot stored after the mark
  uint64_t records_swept = 0;
  uint64_t packs_waiting = 0;
  uint64_t bytes_waiting = 0;
  std::vector<std::string> waiting_for;  // the running operations the deletion waits for

  std::vector<std::string> notes;
};

// kCorrupt (nothing changed) when a snapshot cannot be read or references a
// blob the repository does not have: what is unused cannot be known then.
Result<PruneResult> prune(repo::Repository& repo, const PruneOptions& options, const OpContext& ctx);

}  // namespace lifeboat::ops
