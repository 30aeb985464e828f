// backup: store a snapshot of files and directories.
//
// One pass over the data: walk -> (files cache hit? record without reading)
// -> read -> FastCDC -> blob id -> (in the index? stop) -> compress -> seal
// -> pack -> write, as a pipeline with bounded queues on all cores
// (docs/DESIGN-NOTES.md). Memory is bounded by the queues, the packs being
// built, the index and the directories being walked, never by file sizes.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "repo/snapshot.h"
#include "util/status.h"

namespace lifeboat::ops {

struct BackupOptions {
  std::vector<std::string> paths;  // absolute or relative to the working directory
  std::vector<std::string> tags;
  std::vector<std::string> excludes;       // glob patterns
  std::vector<std::string> exclude_files;  // files with one pattern per line
  bool one_file_system = false;
  std::optional<int64_t> time_ns;  // snapshot time; default: now
  std::string working_dir;         // for relative paths
  std::string cache_root;          // files cache root; empty: no files cache
  int workers = 0;                 // 0: one per hardware thread
  bool scan = false;               // count the total first (for progress ETA)
};

// Live counters for a progress display; written by the backup, read by
// anyone.
struct BackupProgress {
  std::atomic<uint64_t> files_done{0};
  std::atomic<uint64_t> dirs_done{0};
  std::atomic<uint64_t> bytes_done{0};
  std::atomic<uint64_t> files_total{0};
  std::atomic<uint64_t> bytes_total{0};
  std::atomic<bool> scan_finished{false};
  std::atomic<uint64_t> bytes_added{0};
};

struct BackupResult {
  repo::Snapshot snapshot;
  std::vector<std::string> warnings;  // entries that could not be read; non-empty means exit 3
  std::vector<std::string> notes;     // e.g. the files cache could not be written; not an error
};

Result<BackupResult> backup(repo::Repository& repo, const BackupOptions& options, const OpContext& ctx,
                            BackupProgress* progress = nullptr);

// Opens (or waits for) the repository. backup() calls it after the file-system
// scan has started, so the walk overlaps the key derivation. The repository
// must outlive the backup.
using RepositoryOpener = std::function<Result<repo::Repository*>()>;
Result<BackupResult> backup(const RepositoryOpener& open, const BackupOptions& options, const OpContext& ctx,
                            BackupProgress* progress = nullptr);

}  // namespace lifeboat::ops
