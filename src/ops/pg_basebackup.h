// pg basebackup: an online base backup of a PostgreSQL cluster straight into
// the repository (sources/pg/basebackup.h streams it; SnapshotBuilder stores
// it). Relation files are cut on page boundaries in chunks of `page_chunk`
// bytes, so a page that changed costs one small chunk and every other page
// dedups against earlier base backups of the cluster (or of its replicas:
// the same pages give the same blob ids).
//
// The snapshot (kind "postgres-base") holds the data directory under
// /data and each tablespace under /tablespaces/<oid>; /data/backup_manifest
// is the server's manifest (pg_verifybackup reads it). Its source_json
// records what recovery needs (docs/DATABASES.md).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "repo/snapshot.h"
#include "sources/pg/basebackup.h"

namespace lifeboat::ops {

struct PgBaseBackupOptions {
  std::string dsn;
  std::vector<std::string> tags;
  size_t page_chunk = 64 << 10;  // a multiple of 8 KiB
  bool fast_checkpoint = true;
  std::atomic<uint64_t>* bytes_done = nullptr;
};

struct PgBaseBackupResult {
  repo::Snapshot snapshot;
  sources::pg::BaseBackupInfo info;
  uint64_t delta_chunks = 0;  // changed page chunks stored as deltas against source's delta_against
  std::vector<std::string> notes;
};

Result<PgBaseBackupResult> pg_basebackup(repo::Repository& repo, const PgBaseBackupOptions& options,
                                         const OpContext& ctx);

// What a postgres-base snapshot's source_json holds.
struct PgBaseInfo {
  uint64_t system_id = 0;
  uint32_t timeline = 0;
  uint64_t start_lsn = 0;
  uint64_t stop_lsn = 0;
  std::string start_wal;
  std::string stop_wal;
  int64_t start_time_ns = 0;
  int64_t stop_time_ns = 0;
  std::string pg_version;
  int pg_version_num = 0;
  uint64_t wal_segment_size = 16 << 20;
  std::string data_directory;
  std::vector<sources::pg::Tablespace> tablespaces;
  size_t page_chunk = 16 << 10;
};
Result<PgBaseInfo> pg_base_info(const repo::Snapshot& snapshot);

// The base backups of the repository (kind postgres-base), oldest (by stop
// LSN) first, of one cluster when system_id is given.
Result<std::vector<std::pair<repo::Snapshot, PgBaseInfo>>> pg_base_backups(const repo::Repository& repo,
                                                                           std::optional<uint64_t> system_id);

}  // namespace lifeboat::ops
