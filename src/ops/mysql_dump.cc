#include "ops/mysql_dump.h"

#include <cstring>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "ops/dump.h"
#include "ops/locking.h"
#include "ops/snapshot_builder.h"
#include "sources/mysql/dump_scan.h"
#include "util/subprocess.h"

namespace lifeboat::ops {

namespace mysql = sources::mysql;

namespace {

// Schemas every server has; a dump of them never "conflicts" and their
// counts change by themselves (statistics tables).
bool system_schema(const std::string& db) {
  return db == "mysql" || db == "sys" || db == "performance_schema" || db == "information_schema";
}

std::string in_list(const std::vector<std::string>& names) {
  std::vector<std::string> q;
  for (const auto& n : names) q.push_back(mysql::quote_string(n));
  return fmt::format("{}", fmt::join(q, ","));
}

}  // namespace

std::vector<std::string> mysql_dump_databases(const repo::Snapshot& snapshot) {
  std::vector<std::string> out;
  auto source = nlohmann::json::parse(snapshot.source_json, nullptr, false);
  if (!source.is_object() || !source.contains("tables") || !source["tables"].is_object()) return out;
  for (const auto& [db, tables] : source["tables"].items()) out.push_back(db);
  return out;
}

Status stream_file_into(const repo::Repository& repo, const repo::Snapshot& snapshot, const std::string& path,
                        const std::vector<std::string>& argv, uint64_t* bytes,
                        const std::map<std::string, std::string>& env) {
  LB_ASSIGN_OR_RETURN(repo::Node node, find_entry(repo, snapshot, path));
  Subprocess::Options o;
  o.argv = argv;
  o.env = env;
  o.pipe = Subprocess::Pipe::kWrite;
  LB_ASSIGN_OR_RETURN(Subprocess child, Subprocess::start(o));
  uint64_t n = 0;
  Status s = write_content(repo, node, [&](ByteSpan d) {
    n += d.size();
    return child.write(d);
  });
  child.close_pipe();
  Status exited = child.wait();
  if (bytes) *bytes = n;
  // The program's own complaint says more than a broken pipe does.
  if (!exited.is_ok()) return exited;
  return s;
}

Result<MysqlDumpResult> mysql_dump(repo::Repository& repo, const MysqlDumpOptions& options, const OpContext& ctx) {
  if (options.all_databases == !options.databases.empty())
    return Status(ErrorCode::kInvalidArgument,
                  options.all_databases ? "give either --database or --all-databases, not both"
                                        : "nothing to dump: give --database NAME (repeatable) or --all-databases");
  const auto& conn = options.conn;
  LB_ASSIGN_OR_RETURN(std::string tool, mysql::find_dump_tool());
  MysqlDumpResult result;
  result.tool = tool;

  // The connection, the credentials and the databases, checked before the
  // dump starts (when the client is installed beside the dump tool).
  if (mysql::find_client_tool().is_ok()) {
    std::string sql = "SELECT VERSION()";
    if (!options.databases.empty())
      sql += fmt::format("; SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ({})",
                         in_list(options.databases));
    LB_ASSIGN_OR_RETURN(auto rows, mysql::query(conn, sql));
    if (!rows.empty() && !rows[0].empty()) result.server_version = rows[0][0];
    std::set<std::string> found;
    for (size_t i = 1; i < rows.size(); ++i)
      if (!rows[i].empty()) found.insert(rows[i][0]);
    for (const auto& db : options.databases)
      if (!found.count(db))
        return Status(ErrorCode::kNotFound,
                      fmt::format("database \"{}\" does not exist at {}: check --database (SHOW DATABASES lists "
                                  "them)",
                                  db, conn.display()));
  }

  std::vector<std::string> argv = {tool};
  for (auto& a : conn.args()) argv.push_back(a);
  argv.insert(argv.end(),
              {"--single-transaction", "--routines", "--events", "--triggers", "--hex-blob", "--skip-dump-date"});
  if (options.all_databases) {
    argv.push_back("--all-databases");
  } else {
    argv.push_back("--databases");
    argv.insert(argv.end(), options.databases.begin(), options.databases.end());
  }
  Subprocess::Options so;
  so.argv = argv;
  so.env = conn.env;
  LB_ASSIGN_OR_RETURN(Subprocess child, Subprocess::start(so));

  // The first bytes, before the repository is touched: a connection that
  // fails ends the dump before it writes anything.
  std::vector<uint8_t> first(64 << 10);
  size_t first_len = 0;
  while (first_len < first.size()) {
    auto got = child.read(first.data() + first_len, first.size() - first_len);
    if (!got.is_ok()) {
      child.kill();
      return got.status();
    }
    if (*got == 0) break;
    first_len += *got;
  }
  if (first_len == 0) {
    Status exited = child.wait();
    if (!exited.is_ok())
      return mysql::explain_error(exited, conn).with_context("the dump failed, no snapshot was written");
    return Status(ErrorCode::kIo, tool + " wrote nothing; no snapshot was written");
  }

  LB_ASSIGN_OR_RETURN(auto builder, SnapshotBuilder::begin(repo, ctx, 0, options.bytes_done));
  auto& b = *builder;
  mysql::SqlDumpScanner scan;
  size_t first_off = 0;
  ReadFn read = [&](uint8_t* buf, size_t n) -> Result<size_t> {
    if (first_off < first_len) {
      size_t k = std::min(n, first_len - first_off);
      std::memcpy(buf, first.data() + first_off, k);
      first_off += k;
      scan.feed(ByteSpan(buf, k));
      return k;
    }
    LB_ASSIGN_OR_RETURN(size_t got, child.read(buf, n));
    scan.feed(ByteSpan(buf, got));
    return got;
  };
  EntryMeta meta;
  meta.mode = 0600;  // a dump holds the data of every table
  meta.uid = ctx.uid;
  meta.gid = ctx.gid;
  auto stored = b.add_file("dump.sql", read, meta);
  if (!stored.is_ok()) child.kill();
  Status exited = child.wait();
  if (!stored.is_ok()) {
    b.abort();
    return stored.status().with_context("no snapshot was written");
  }
  if (!exited.is_ok()) {
    b.abort();
    return mysql::explain_error(exited, conn).with_context("the dump failed, no snapshot was written");
  }
  const auto& stats = scan.finish();
  if (!stats.completed) {
    b.abort();
    return Status(ErrorCode::kIo, fmt::format("{} ended without its \"Dump completed\" line; no snapshot was written",
                                              tool));
  }
  result.dump_bytes = stored->size;
  result.tables = stats.tables;
  result.rows = stats.total_rows();
  if (!stats.server_version.empty()) result.server_version = stats.server_version;

  nlohmann::json source = nlohmann::json::object();
  source["server"] = conn.display();
  source["server_version"] = result.server_version;
  source["tool"] = tool;
  source["tool_version"] = mysql::tool_version(tool);
  source["databases"] = options.databases;
  source["all_databases"] = options.all_databases;
  nlohmann::json tables = nlohmann::json::object();
  for (const auto& [db, t] : stats.tables) {
    nlohmann::json per = nlohmann::json::object();
    for (const auto& [name, rows] : t) per[name] = rows;
    tables[db] = per;
  }
  source["tables"] = tables;
  source["rows"] = result.rows;
  source["bytes"] = result.dump_bytes;
  source["rows_source"] = "dump";

  SnapshotInfo info;
  info.kind = "mysql-dump";
  info.paths = {options.all_databases ? conn.display() + " (all databases)"
                                      : fmt::format("{} {}", conn.display(), fmt::join(options.databases, " "))};
  info.tags = options.tags;
  info.time_ns = options.time_ns;
  info.source_json = source.dump();
  info.audit_details = fmt::format("{} rows", result.rows);
  LB_ASSIGN_OR_RETURN(result.snapshot, b.commit(info));
  return result;
}

Result<MysqlRestoreResult> mysql_restore(repo::Repository& repo, const repo::Snapshot& snapshot,
                                         const MysqlRestoreOptions& options, const OpContext& ctx) {
  if (snapshot.kind != "mysql-dump")
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("snapshot {} is a {} snapshot, not a MariaDB/MySQL dump: use `lifeboat restore`",
                              snapshot.id.short_hex(), snapshot.kind));
  LB_ASSIGN_OR_RETURN(std::string client, mysql::find_client_tool());
  const auto& conn = options.conn;
  MysqlRestoreResult result;
  for (const auto& db : mysql_dump_databases(snapshot))
    if (!system_schema(db)) result.databases.push_back(db);

  // Reachable, and nothing of ours in the way (checked before anything is
  // sent).
  std::string sql = "SELECT 1";
  if (!result.databases.empty())
    sql += fmt::format(
        "; SELECT TABLE_SCHEMA, COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ({}) GROUP BY "
        "TABLE_SCHEMA",
        in_list(result.databases));
  LB_ASSIGN_OR_RETURN(auto rows, mysql::query(conn, sql));
  if (!options.force) {
    for (size_t i = 1; i < rows.size(); ++i) {
      if (rows[i].size() < 2 || rows[i][1] == "0") continue;
      return Status(ErrorCode::kAlreadyExists,
                    fmt::format("database \"{}\" at {} already holds {} tables: restore into another server, drop "
                                "it first, or give --force to replace the tables the dump has",
                                rows[i][0], conn.display(), rows[i][1]));
    }
  }

  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo, repo::LockKind::kShared, ctx, "restore"));
  LB_RETURN_IF_ERROR(repo.load_index());
  std::vector<std::string> argv = {client};
  for (auto& a : conn.args()) argv.push_back(a);
  argv.push_back("--binary-mode");
  Status s = stream_file_into(repo, snapshot, "/dump.sql", argv, &result.bytes, conn.env);
  if (!s.is_ok()) {
    Status e = mysql::explain_error(s, conn);
    return e.with_context(result.bytes ? "the restore stopped partway (the databases may be partly restored)"
                                       : "the restore failed");
  }
  LB_RETURN_IF_ERROR(lock->release());
  return result;
}

}  // namespace lifeboat::ops
