// mysql dump / restore: a logical dump of MariaDB or MySQL with the server's
// own tool (mariadb-dump, else mysqldump) in one consistent transaction
// (--single-transaction: consistent for InnoDB tables), streamed into a
// snapshot as /dump.sql; and its restore, streamed into the mariadb client.
//
// Snapshot (kind "mysql-dump"): /dump.sql. source_json: {"server",
// "server_version", "tool", "tool_version", "databases": [...],
// "all_databases", "tables": {"db": {"table": rows}}, "rows", "bytes"}.
// The row counts are those of the dump itself (sources/mysql/dump_scan.h).
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "repo/snapshot.h"
#include "sources/mysql/mysql_client.h"
#include "util/status.h"

namespace lifeboat::ops {

struct MysqlDumpOptions {
  sources::mysql::MysqlConnection conn;
  std::vector<std::string> databases;  // --databases D...; or
  bool all_databases = false;          // --all-databases
  std::vector<std::string> tags;
  std::optional<int64_t> time_ns;
  std::atomic<uint64_t>* bytes_done = nullptr;  // progress
};

struct MysqlDumpResult {
  repo::Snapshot snapshot;
  std::string tool;            // "mariadb-dump"
  std::string server_version;
  uint64_t dump_bytes = 0;
  uint64_t rows = 0;
  std::map<std::string, std::map<std::string, uint64_t>> tables;
};

// Checks the connection and that the databases exist before it starts
// (each failure one line saying what to do, nothing written); a dump that
// fails midway writes no snapshot.
Result<MysqlDumpResult> mysql_dump(repo::Repository& repo, const MysqlDumpOptions& options, const OpContext& ctx);

struct MysqlRestoreOptions {
  sources::mysql::MysqlConnection conn;
  bool force = false;  // restore into databases that already hold tables
};

struct MysqlRestoreResult {
  std::vector<std::string> databases;
  uint64_t bytes = 0;
};

// Streams /dump.sql into the client. Refuses (kAlreadyExists, before
// anything is sent) when a database of the dump already holds tables on
// the server, unless `force` (the dump then replaces the tables it has).
Result<MysqlRestoreResult> mysql_restore(repo::Repository& repo, const repo::Snapshot& snapshot,
                                         const MysqlRestoreOptions& options, const OpContext& ctx);

// The databases a mysql-dump snapshot holds (from its source_json).
std::vector<std::string> mysql_dump_databases(const repo::Snapshot& snapshot);

// Sends a stored file into a program's standard input (`argv`), which must
// then exit with 0 (its own error line otherwise). Shared with
// verify-restore.
Status stream_file_into(const repo::Repository& repo, const repo::Snapshot& snapshot, const std::string& path,
                        const std::vector<std::string>& argv, uint64_t* bytes = nullptr,
                        const std::map<std::string, std::string>& env = {});

}  // namespace lifeboat::ops
