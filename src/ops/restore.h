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
#include <string>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "repo/snapshot.h"
#include "util/status.h"

namespace lifeboat::ops {

struct RestoreOptions {
  std::string target;                 // created if missing
  std::vector<std::string> includes;  // paths or globs in the snapshot; "/a/b" anchored, "b" anywhere
  int workers = 0;                    // 0: one per hardware thread (at least 2)
};

struct RestoreProgress {
  std::atomic<uint64_t> files_total{0};
  std::atomic<uint64_t> bytes_total{0};
  std::atomic<uint64_t> files_done{0};
  std::atomic<uint64_t> bytes_done{0};
};

struct RestoreResult {
  uint64_t files = 0;
  uint64_t dirs = 0;
  uint64_t others = 0;  // symlinks, devices, FIFOs
  uint64_t bytes = 0;
  std::vector<std::string> errors;    // files that could not be restored exactly (exit 1)
  std::vector<std::string> warnings;  // metadata that could not be applied
};

Result<RestoreResult> restore(repo::Repository& repo, const repo::Snapshot& snapshot, const RestoreOptions& options,
                              const OpContext& ctx, RestoreProgress* progress = nullptr);

}  // namespace lifeboat::ops
