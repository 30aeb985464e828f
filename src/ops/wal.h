// The WAL archive: PostgreSQL's archive_command and restore_command.
//
// Each WAL file (16 MiB segment, timeline history, backup history) is one
// object, wal/<system id, 16 hex>/<file name>, compressed (zstd) and sealed
// like every data object (AES-256-GCM, aad "wal" + name). Segments do not
// go through the chunker and the index: they share little with each other,
// and one write per segment keeps archive_command quick (docs/FORMAT.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::ops {

struct WalPushOptions {
  std::string path;                    // %p: the file to archive
  std::optional<uint64_t> system_id;   // default: the segment's header, or pgdata's pg_control
  std::string pgdata = ".";            // archive_command runs in the data directory
  int compression_level = compress::kDefaultLevel;
};

struct WalPushResult {
  std::string name;
  uint64_t system_id = 0;
  uint64_t size = 0;    // bytes of the file
  uint64_t stored = 0;  // bytes written (0 when it was already archived)
  bool already = false; // the same file was archived before: nothing written
};

// Archives one file. Pushing the same file twice succeeds (nothing is
// written the second time); a different file under a name already archived
// is refused with kAlreadyExists: it means two clusters archive into one
// place, or a server was restored without a new timeline.
Result<WalPushResult> wal_push(repo::Repository& repo, const WalPushOptions& options);

struct WalFetchOptions {
  std::string name;                    // %f
  std::string dest;                    // %p (relative to the working directory)
  std::optional<uint64_t> system_id;   // default: pgdata's pg_control
  std::string pgdata = ".";
};

// Fetches one file: kNotFound when it is not archived (PostgreSQL's normal
// end of the archive), kCorrupt when it fails authentication (never
// written to dest). The file appears whole or not at all.
Status wal_fetch(const repo::Repository& repo, const WalFetchOptions& options);

struct WalFile {
  std::string name;
  uint64_t stored = 0;
  int64_t mtime_ns = 0;  // when it was archived (0 if the store does not say)
};

std::string wal_prefix(uint64_t system_id);  // "wal/<16 hex>/"
// The archived files of one cluster, sorted by name.
Result<std::vector<WalFile>> list_wal(const repo::Repository& repo, uint64_t system_id);
// The system ids with archived WAL.
Result<std::vector<uint64_t>> list_wal_clusters(const repo::Repository& repo);

// Removes the archived WAL that no base backup of the cluster needs any
// more: segments before the oldest remaining base backup's start (history
// files stay). Nothing when no base backup remains (the archive may be all
// there is). Files written after `keep_after_ns` (the retention lock) stay.
struct WalExpiry {
  size_t files = 0;
  uint64_t bytes = 0;
  std::string oldest_kept;  // the first segment still needed
};
Result<WalExpiry> expire_wal(repo::Repository& repo, uint64_t system_id, int64_t keep_after_ns = 0);

// Reads and authenticates one archived file (for wal-fetch, checks, tests).
Result<Bytes> read_wal(const repo::Repository& repo, uint64_t system_id, const std::string& name);

// Copies the archived files of one cluster that `dest` lacks (by name) from
// `source`, opened and sealed again under dest's keys (still compressed as
// stored). Files dest has are left alone. `dry_run` only counts.
struct WalCopyResult {
  size_t files = 0;
  uint64_t bytes = 0;  // stored form, as read from source
};
Result<WalCopyResult> copy_wal(const repo::Repository& source, repo::Repository& dest, uint64_t system_id,
                               bool dry_run, const OpContext& ctx);

}  // namespace lifeboat::ops

namespace lifeboat::ops {

// Asynchronous archiving (like pgBackRest's archive-async): archive_command
// still returns only once its file is stored, but one background pusher per
// spool directory pushes every file PostgreSQL has marked ready
// (pg_wal/archive_status/<name>.ready) ahead, `parallel` at a time, with one
// repository open; the later archive_command calls then find their file done.
// Status files: <spool>/done/<name> (pushed), <spool>/error/<name> (why not).
struct WalSpoolOptions {
  std::string wal_dir;   // the directory of %p (pg_wal)
  std::string spool;     // the spool directory
  int parallel = 2;
  int64_t idle_exit_ns = 2'000'000'000;  // the pusher ends after this long with nothing ready
  std::optional<uint64_t> system_id;
  std::string pgdata = ".";
  int compression_level = compress::kDefaultLevel;
};

// The pusher's loop; returns when nothing was ready for idle_exit_ns.
Status wal_spool_push(repo::Repository& repo, const WalSpoolOptions& options, const OpContext& ctx);

}  // namespace lifeboat::ops
