// redis backup: a consistent RDB of a Redis server, taken over the
// replication protocol as `redis-cli --rdb` does (the server forks and
// streams its dataset; nothing is written to a temporary file here), plus
// the server's AOF directory when AOF is on and that directory is readable
// on this machine.
//
// Snapshot (kind "redis"):
//   /dump.rdb                   the RDB, as the server sent it
//   /appendonlydir/...          Redis 7 multi-part AOF (manifest, base, incr)
//   /appendonly.aof             or the single AOF file of Redis < 7
// source_json: {"url", "redis_version", "rdb_version", "rdb_bytes",
//   "keys": {"db0": N, ...}, "expires": {"db0": N, ...}, "keys_source":
//   "rdb" | "info", "keys_info": {...}, "aof": {...}}.
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "repo/snapshot.h"
#include "sources/redis/redis_url.h"
#include "util/status.h"

namespace lifeboat::ops {

struct RedisBackupOptions {
  sources::redis::RedisEndpoint endpoint;
  std::string password;         // AUTH password (REDISCLI_AUTH or the URL's); empty: none
  bool aof = true;              // also store the AOF when the server's directory is on this machine
  std::vector<std::string> tags;
  std::optional<int64_t> time_ns;
  int connect_timeout_ms = 10000;
  int idle_timeout_ms = 120000;  // how long the server may stay silent during the transfer
  std::atomic<uint64_t>* bytes_done = nullptr;  // progress
};

struct RedisBackupResult {
  repo::Snapshot snapshot;
  std::string redis_version;
  uint64_t rdb_bytes = 0;
  std::map<int, uint64_t> keys;  // by database, as the RDB holds them
  bool aof_stored = false;
  uint64_t aof_bytes = 0;
  std::vector<std::string> notes;  // what the user should know (AOF skipped, counts from INFO, ...)
};

// Connection and authentication problems fail before the repository is
// touched; a transfer that breaks off or an RDB that does not parse as one
// fails without a snapshot.
Result<RedisBackupResult> redis_backup(repo::Repository& repo, const RedisBackupOptions& options,
                                       const OpContext& ctx);

}  // namespace lifeboat::ops
