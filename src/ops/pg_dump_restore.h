// pg restore-dump: a pg-dump snapshot back into a database (whole, or some
// tables), or one table as CSV, by pg_restore reading the stored dump
// through named pipes (FifoFeeder): nothing of the dump's size is written to
// disk, and pg_restore --jobs N reads a directory-format dump N files at a
// time. A custom-format dump is one pipe, which pg_restore reads from start
// to end: one job only (parallel restore needs to seek).
//
// Before anything reaches the target, the target is connected to (one-line
// errors for an unreachable server, a wrong password, a missing database),
// and the tables asked for are looked up in the dump. With one job the
// restore is one transaction (--single-transaction --exit-on-error): a
// failure leaves the target as it was.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ops/context.h"
#include "ops/pg_dump.h"
#include "repo/repository.h"
#include "repo/snapshot.h"
#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::ops {

struct PgDumpRestoreOptions {
  std::string dsn;                  // the target database (it must exist)
  std::vector<std::string> tables;  // "name" or "schema.name"; empty: everything
  bool clean = false;               // drop what is restored first (--clean --if-exists)
  bool data_only = false;           // rows only, into tables that exist
  bool no_owner = false;            // no ALTER ... OWNER (a target without the dump's roles)
  bool no_privileges = false;       // no GRANT/REVOKE
  int jobs = 1;                     // > 1: directory-format dumps only; not one transaction
  std::string bindir;               // where pg_restore is; empty: PATH
  std::string spool_dir;            // where the pipes are made; empty: /tmp
  std::atomic<uint64_t>* bytes_done = nullptr;
};

struct PgDumpRestoreResult {
  std::vector<PgDumpTable> tables;  // the tables restored, with their rows at dump time
  uint64_t bytes = 0;               // of the dump read
  bool single_transaction = true;
};

Result<PgDumpRestoreResult> pg_restore_dump(const repo::Repository& repo, const repo::Snapshot& snapshot,
                                        const PgDumpRestoreOptions& options, const OpContext& ctx);

struct PgCsvOptions {
  std::string table;  // "name" or "schema.name"
  bool header = false;
  std::string bindir;
  std::string spool_dir;
};

struct PgCsvResult {
  PgDumpTable table;  // with its row count at dump time
  uint64_t rows = 0;  // rows written
};

// Writes one table's rows as CSV (as COPY ... TO STDOUT WITH (FORMAT csv)
// would have at dump time) to `sink`.
Result<PgCsvResult> pg_dump_csv(const repo::Repository& repo, const repo::Snapshot& snapshot,
                                const PgCsvOptions& options, const std::function<Status(std::string_view)>& sink,
                                const OpContext& ctx);

// ------------------------------------------------------------ building blocks

// The dump's table `ref` ("name" or "schema.name"); kNotFound naming the
// dump's tables, kInvalidArgument when a bare name is in several schemas.
Result<PgDumpTable> resolve_dump_table(const PgDumpSource& source, const std::string& ref,
                                       const std::string& snapshot_name);

// pg_restore (found in `bindir` or PATH) able to read this dump.
struct PgRestoreTool {
  std::string path;
  int major = 0;
};
Result<PgRestoreTool> find_pg_restore(const PgDumpSource& source, const std::string& bindir);

struct PgRestoreRun {
  std::vector<std::string> args;           // pg_restore's options; the archive is added
  std::map<std::string, std::string> env;  // PGPASSWORD, ...
  std::string list;                        // a TOC list for -L ("" for none)
  std::string spool_dir;                   // empty: /tmp
  std::function<Status(ByteSpan)> out;     // pg_restore's standard output (-f -, -l); null: discarded
  std::atomic<uint64_t>* bytes_done = nullptr;
};
// Runs pg_restore on the stored dump; its one-line error when it fails.
Status run_pg_restore(const repo::Repository& repo, const repo::Snapshot& snapshot, const PgDumpSource& source,
                      const PgRestoreTool& tool, const PgRestoreRun& run, const OpContext& ctx);

// From `pg_restore -l` output, the TOC list of the lines restoring the
// tables (their definition unless data_only, and their data), and creating
// the `schemas` named.
std::string select_toc_entries(const std::string& listing, const std::vector<PgDumpTable>& tables, bool data_only,
                               const std::vector<std::string>& schemas = {});

}  // namespace lifeboat::ops
