// pg restore: point-in-time recovery from a base backup and the WAL
// archive. Picks the base backup (the newest that ends before the target),
// restores its data directory (and tablespaces), writes the recovery
// settings (restore_command = lifeboat wal-fetch, the target, promote) and,
// with `start`, runs PostgreSQL through recovery to the target and reports
// how long the restore and the recovery took: the measured RTO.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ops/context.h"
#include "ops/pg_basebackup.h"
#include "ops/wal.h"
#include "repo/repository.h"

namespace lifeboat::ops {

struct PgRestoreOptions {
  std::string pgdata;                     // created if missing; must be empty unless force
  std::string snapshot;                   // a base backup to use ("" picks one)
  std::optional<uint64_t> system_id;      // which cluster (needed when the repository holds several)
  std::optional<int64_t> target_time_ns;  // one target at most; none: the end of the archive
  std::string target_lsn;
  std::string target_xid;
  bool target_inclusive = true;
  std::string restore_command;            // written as restore_command (the CLI builds it)
  bool archive_off = false;               // archive_mode = off in the restored copy
  int port = 0;                           // port = N in the restored copy
  std::vector<std::string> extra_conf;    // more lines for postgresql.auto.conf
  bool force = false;                     // restore into a non-empty directory (files are overwritten)
  // Restore into an existing data directory, writing only the files that
  // differ from the base backup and removing those it does not have.
  bool delta = false;
  // Start PostgreSQL and wait until recovery reaches the target and promotes.
  bool start = false;
  std::string pg_bindir;                  // default: /usr/lib/postgresql/<major>/bin or PATH
  int64_t start_timeout_ns = 3600LL * 1'000'000'000;
  std::vector<std::pair<std::string, std::string>> server_env;  // for restore_command (e.g. the password)
  int workers = 0;
};

struct PgRestoreResult {
  repo::Snapshot base;
  PgBaseInfo info;
  uint64_t files = 0;
  uint64_t bytes = 0;
  uint64_t files_kept = 0;     // delta: already right
  uint64_t files_removed = 0;  // delta: not in the base backup
  double restore_seconds = 0;
  double recovery_seconds = 0;  // with start: from start until promoted
  bool started = false;
  std::vector<std::string> notes;
};

Result<PgRestoreResult> pg_restore(repo::Repository& repo, const PgRestoreOptions& options, const OpContext& ctx);

// Starts PostgreSQL on a restored data directory (as its owner when run as
// root) and waits until recovery has reached its target and promoted;
// returns the seconds it took. (pg_restore does this with `start`.)
Result<double> pg_recover(const std::string& pgdata, const PgRestoreOptions& options, int pg_version_num,
                          const OpContext& ctx);
// Stops the server on `pgdata` (fast shutdown), as its owner.
Status pg_stop(const std::string& pgdata, const PgRestoreOptions& options, int pg_version_num);

}  // namespace lifeboat::ops
