// redis restore: lays out a "redis" snapshot's files in a directory for a
// redis-server to start from: dump.rdb, and the AOF (appendonlydir/ or
// appendonly.aof) when the snapshot has one.
#pragma once

#include <string>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "repo/snapshot.h"
#include "util/status.h"

namespace lifeboat::ops {

struct RedisRestoreOptions {
  std::string dir;     // created when missing
  bool force = false;  // replace a dump.rdb / AOF already there
  bool aof = true;     // also write the AOF, when the snapshot has one
};

struct RedisRestoreResult {
  std::vector<std::string> written;  // paths written, in order
  std::vector<std::string> removed;  // a stale AOF that --force removed (a server would load it instead)
  uint64_t bytes = 0;
  bool aof = false;                  // the AOF was written
  std::string aof_dirname;           // "appendonlydir" (Redis 7) or "" 
  std::string aof_filename;          // appendfilename the AOF was written under
  // How to start a server from it, e.g.
  // "redis-server --dir D --dbfilename dump.rdb --appendonly no".
  std::string start_command;
};

// Refuses (kAlreadyExists, naming the file and --force) a directory that
// already holds dump.rdb or the AOF, before writing anything. Each file is
// written under a temporary name, synced and renamed into place, so a
// failure leaves no half-written dump.rdb behind. kInvalidArgument for a
// snapshot of another kind.
Result<RedisRestoreResult> redis_restore(repo::Repository& repo, const repo::Snapshot& snapshot,
                                         const RedisRestoreOptions& options, const OpContext& ctx);

// Writes the snapshot's file `path` to `target` (under a temporary name,
// synced, renamed). Shared with verify-restore.
Status write_snapshot_file(const repo::Repository& repo, const repo::Snapshot& snapshot, const std::string& path,
                           const std::string& target, uint64_t* bytes = nullptr);

}  // namespace lifeboat::ops
