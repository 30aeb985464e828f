// restore: write a snapshot (or part of it) back to the file system.
//
// Three phases: (1) walk the trees, create directories, links and special
// files, and plan which blob goes to which file offsets, grouped by pack;
// (2) read each pack once, in parallel, authenticate and decompress its
// blobs and write them to every place they belong (zero runs of sparse files
// stay holes); (3) hard links, then metadata (owner, xattrs/ACLs, mode,
// times), files first, then directories bottom-up so their mtimes stick.
// A blob that fails authentication is never written: the file is reported.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "ops/content.h"
#include "ops/context.h"
#include "repo/repository.h"
#include "repo/snapshot.h"
#include "util/status.h"

namespace lifeboat::ops {

// Cold storage: data packs in an archive class (S3 GLACIER/DEEP_ARCHIVE)
// are thawed before the restore reads them, only those it needs.
struct ThawProgress {
  size_t needed = 0;     // archived packs this restore reads
  size_t requested = 0;  // thaw asked for (now or by an earlier run)
  size_t ready = 0;      // readable
};

struct ThawOptions {
  int64_t wait_ns = 0;                        // how long to wait for thawing (0: ask, then stop)
  int64_t poll_ns = 60LL * 1'000'000'000;     // how often to look again while waiting
  int days = 2;                               // how long the store keeps the thawed copy
  std::function<void(const ThawProgress&)> on_progress;  // after each round
};

struct RestoreOptions {
  std::string target;                 // created if missing
  std::vector<std::string> includes;  // paths or globs in the snapshot; "/a/b" anchored, "b" anywhere
  int workers = 0;                    // 0: one per hardware thread (at least 2)
  ThawOptions thaw;
  // Delta: a regular file already at its place with the snapshot's size and
  // the same chunks (cut as `delta` says for that target path) is kept, not
  // rewritten; only its metadata is set. Null: every file is written.
  std::function<Cutter(const std::string& target_path)> delta;
};

struct RestoreProgress {
  std::atomic<uint64_t> files_total{0};
  std::atomic<uint64_t> bytes_total{0};
  std::atomic<uint64_t> files_done{0};
  std::atomic<uint64_t> bytes_done{0};
};

struct RestoreResult {
  uint64_t files = 0;
  uint64_t files_kept = 0;  // delta: already right, not rewritten (counted in files too)
  uint64_t dirs = 0;
  uint64_t others = 0;  // symlinks, devices, FIFOs
  uint64_t bytes = 0;
  std::vector<std::string> errors;    // files that could not be restored exactly (exit 1)
  std::vector<std::string> warnings;  // metadata that could not be applied
};

// When packs it needs are archived, restore first thaws them (thaw_packs)
// and fails with kArchived (exit 13) if they are not readable within
// options.thaw.wait_ns; nothing is written to the target before that.
Result<RestoreResult> restore(repo::Repository& repo, const repo::Snapshot& snapshot, const RestoreOptions& options,
                              const OpContext& ctx, RestoreProgress* progress = nullptr);

// The packs a restore with these options reads (plans it, writes nothing).
Result<std::vector<repo::Id>> packs_for_restore(repo::Repository& repo, const repo::Snapshot& snapshot,
                                          const RestoreOptions& options, const OpContext& ctx);

// Makes `packs` readable: asks the store to thaw the archived ones (in
// parallel, each once), then, up to options.wait_ns, looks again every
// poll_ns. kArchived, naming how many are still thawing, when time is up.
Status thaw_packs(const repo::Repository& repo, const std::vector<repo::Id>& packs, const ThawOptions& options,
                  const OpContext& ctx);

}  // namespace lifeboat::ops
