// backup of a stream: standard input, or the output of a command (restic's
// --stdin and --stdin-from-command). The database sources are built on the
// same SnapshotBuilder.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ops/context.h"
#include "ops/snapshot_builder.h"
#include "repo/repository.h"
#include "repo/snapshot.h"

namespace lifeboat::ops {

struct StreamBackupOptions {
  std::string filename = "stdin";    // the file's name in the snapshot
  std::vector<std::string> command;  // empty: read standard input
  std::vector<std::string> tags;
  std::optional<int64_t> time_ns;
  int stdin_fd = 0;                  // read when `command` is empty
  std::atomic<uint64_t>* bytes_done = nullptr;  // progress
};

// Stores the stream as /<filename>. A command that exits non-zero (or is
// killed) fails the backup with its own last error line, and no snapshot is
// written.
Result<repo::Snapshot> backup_stream(repo::Repository& repo, const StreamBackupOptions& options, const OpContext& ctx);

}  // namespace lifeboat::ops
