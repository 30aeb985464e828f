// The PostgreSQL client programs a logical dump needs (pg_dump, pg_restore),
// their versions, and what the dump records about the database: its tables
// and their row counts, taken in the snapshot pg_dump dumps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sources/pg/dump_session.h"
#include "util/status.h"

namespace lifeboat::sources::pg {

struct PgTool {
  std::string path;     // absolute
  std::string version;  // "15.5"
  int major = 0;        // 15 (9.6 -> 906)
};

// `name` ("pg_dump") from `bindir` when given, else from PATH; kNotFound
// with what to install when absent.
Result<PgTool> find_tool(const std::string& name, const std::string& bindir);

// "pg_dump (PostgreSQL) 15.5 (Debian 15.5-1)" -> {"15.5", 15}; 9.x -> 906.
bool parse_tool_version(const std::string& text, std::string& version, int& major);
// PostgreSQL's version number (150005, 90624) -> its major (15, 906).
int major_of_version_num(int version_num);
// "15.5" -> 15, "9.6.24" -> 906, "16beta1" -> 16.
int major_of_version(const std::string& version);
std::string major_name(int major);  // 15 -> "15", 906 -> "9.6"

// The line of a client program's standard error that says what went wrong:
// the first "error:" line ("pg_restore: error: could not execute query:
// ERROR:  relation "t" already exists"), else its last non-empty line.
std::string tool_error_line(const std::string& stderr_text);

struct TableRef {
  std::string schema;
  std::string name;
  std::string qualified() const { return schema + "." + name; }
};

struct TableCount {
  TableRef table;
  uint64_t rows = 0;
};

// The ordinary tables pg_dump dumps the data of: relkind 'r' (partitions
// included, partitioned parents not), outside the system schemas, not
// temporary, not an extension's. Ordered by schema and name.
Result<std::vector<TableRef>> list_tables(PgSession& session);

// SELECT count(*) FROM ONLY table.
Result<uint64_t> count_rows(PgSession& session, const TableRef& table);

// Starts a REPEATABLE READ, READ ONLY transaction and exports its snapshot
// (pg_dump --snapshot=ID dumps exactly what this transaction sees, for as
// long as it stays open).
Result<std::string> begin_exported_snapshot(PgSession& session);

}  // namespace lifeboat::sources::pg
