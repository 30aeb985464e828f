// pg status: per cluster, the recoverable window (the end of the oldest base
// backup to the newest archived WAL), the age of the newest WAL (the RPO
// right now) and gaps in the WAL chain, which recovery cannot pass.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::ops {

struct PgClusterStatus {
  uint64_t system_id = 0;
  size_t base_backups = 0;
  size_t wal_files = 0;
  uint64_t wal_bytes = 0;
  std::string oldest_wal;
  std::string newest_wal;
  int64_t window_start_ns = 0;  // the oldest base backup's end; 0: no base backup
  int64_t window_end_ns = 0;    // when the newest WAL was archived; 0: unknown
  double rpo_seconds = -1;      // now - window_end; -1: unknown
  std::vector<std::string> gaps;  // "000000010000000000000012 .. 000000010000000000000014 missing"
};

Result<std::vector<PgClusterStatus>> pg_status(const repo::Repository& repo, std::optional<uint64_t> system_id);

// Missing segments between `from` and the newest archived segment, per
// timeline (exposed for tests): names of the first and last missing.
std::vector<std::string> wal_gaps(const std::vector<std::string>& names, uint64_t seg_size,
                                  const std::string& from = "");

}  // namespace lifeboat::ops
