// pg dump: a PostgreSQL database's logical dump (pg_dump's own archive) as a
// snapshot of kind "pg-dump", with the row count of every table taken in
// the same MVCC snapshot as the dump.
//
// How (docs/DATABASES.md): a libpq session opens a REPEATABLE READ
// transaction and exports its snapshot; pg_dump runs with --snapshot=ID, so
// it dumps exactly what that transaction sees, while the session counts the
// rows of every table (SELECT count(*) FROM ONLY t) in it. Nothing is
// written to a temporary file of the dump's size:
// - custom format (default, one job): pg_dump -Fc -Z0 writes to a pipe, read
//   straight into the repository as /<db>.dump;
// - directory format (--jobs N, N > 1, or --format directory): pg_dump -Fd
//   -Z0 -j N writes table files into a spool directory, each read while it
//   grows and released as it is stored (SpoolFollower), as /<db>/<file>;
//   pg_dump is paused while more than spool_limit bytes wait unread.
// pg_dump's own compression is off (-Z0): the repository compresses, and
// uncompressed dumps deduplicate from one day to the next.
//
// Any failure (unreachable server, wrong password, missing pg_dump, pg_dump
// exiting non-zero) leaves no snapshot; data stored before it is reused by
// the next run and otherwise removed by prune.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "repo/snapshot.h"
#include "util/status.h"

namespace lifeboat::ops {

struct PgDumpTable {
  std::string schema;
  std::string name;
  uint64_t rows = 0;
  std::string qualified() const { return schema + "." + name; }
};

// What a pg-dump snapshot records in its source_json.
struct PgDumpSource {
  std::string database;
  std::string server_version;     // "15.5"
  int server_version_num = 0;     // 150005
  std::string pg_dump_version;    // "15.5"
  std::string format;             // "custom" | "directory"
  std::string path;               // in the snapshot: "/app.dump" (custom) or "/app" (directory)
  std::string where;              // "db1:5432", for people (never a password)
  std::vector<PgDumpTable> tables;

  uint64_t total_rows() const;
  std::string to_json() const;
  static Result<PgDumpSource> from_json(const std::string& json);
};

struct PgDumpOptions {
  std::string dsn;                  // libpq connection string or URI; the password comes from the environment
  std::string bindir;               // where pg_dump is; empty: PATH
  int jobs = 1;                     // > 1: directory format, pg_dump --jobs
  std::string format = "custom";    // "custom" or "directory"
  std::string spool_dir;            // directory format: where pg_dump writes (a fresh subdirectory); empty: /tmp
  uint64_t spool_limit = 64 << 20;  // directory format: pg_dump pauses while more than this waits unread
  std::vector<std::string> tags;
  std::optional<int64_t> time_ns;
  std::atomic<uint64_t>* bytes_done = nullptr;  // progress
};

struct PgDumpResult {
  repo::Snapshot snapshot;
  PgDumpSource source;
};

Result<PgDumpResult> pg_dump_backup(repo::Repository& repo, const PgDumpOptions& options, const OpContext& ctx);

// The file name a database's dump gets in a snapshot (no '/', never "." or
// ".."): "app" -> "app".
std::string dump_entry_name(const std::string& database);

// Resolves SNAPSHOT for the pg commands: an id or prefix (which must be a
// pg-dump snapshot), or "latest" (the newest pg-dump snapshot, of
// `database` when given).
Result<repo::Snapshot> find_pg_dump_snapshot(const repo::Repository& repo, const std::string& ref,
                                             const std::string& database = "");

}  // namespace lifeboat::ops
