// lifeboat mysql dump | restore
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/progress.h"
#include "ops/mysql_dump.h"
#include "ops/snapshot_select.h"
#include "repo/snapshot_json.h"
#include "util/time_format.h"

namespace lifeboat::cli {

namespace {

struct ConnArgs {
  std::string host;
  int port = 0;
  std::string socket;
  std::string user;
  std::string defaults_file;

  sources::mysql::MysqlConnection connection() const {
    sources::mysql::MysqlConnection c;
    c.host = host;
    c.port = port;
    c.socket = socket;
    c.user = user;
    c.defaults_file = defaults_file;
    return c;
  }
};

void add_conn_options(CLI::App* cmd, ConnArgs& c) {
  cmd->add_option("--host", c.host, "Server host (default: the local server's socket)");
  cmd->add_option("--port", c.port, "Server TCP port (default 3306)")->check(CLI::Range(1, 65535));
  cmd->add_option("--socket", c.socket, "Server UNIX socket");
  cmd->add_option("--user", c.user, "User name (default: the tools' default, your login name)");
  cmd->add_option("--defaults-file", c.defaults_file,
                  "Option file with [client] settings (user, password, host, ...), read instead of ~/.my.cnf");
}

struct DumpArgs {
  ConnArgs conn;
  std::vector<std::string> databases;
  bool all_databases = false;
  std::vector<std::string> tags;
  std::string hostname;
  std::string time;
};

struct MysqlRestoreArgs {
  ConnArgs conn;
  std::string snapshot;
  bool force = false;
  std::vector<std::string> tags;
};

// "latest" means the newest MariaDB/MySQL dump, not the newest of any kind.
Result<repo::Snapshot> find_dump_snapshot(const repo::Repository& repo, const std::string& ref,
                                          const ops::SnapshotFilter& filter) {
  if (ref != "latest") return ops::find_snapshot(repo, ref, filter);
  LB_ASSIGN_OR_RETURN(auto all, ops::list_snapshots(repo, filter));
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->kind == "mysql-dump") return *it;
  return Status(ErrorCode::kNotFound, "there is no MariaDB/MySQL dump snapshot: make one with `lifeboat mysql dump`");
}

int run_dump(Globals& g, const DumpArgs& a) {
  ops::MysqlDumpOptions o;
  o.conn = a.conn.connection();
  o.databases = a.databases;
  o.all_databases = a.all_databases;
  o.tags = a.tags;
  if (o.all_databases == !o.databases.empty())
    return fail(Status(ErrorCode::kInvalidArgument,
                       o.all_databases ? "give either --database or --all-databases, not both"
                                       : "nothing to dump: give --database NAME (repeatable) or --all-databases"));
  if (Status s = check_snapshot_options(a.tags, a.time, &o.time_ns); !s.is_ok()) return fail(s);
  // A missing tool is said before the repository is opened.
  if (auto t = sources::mysql::find_dump_tool(); !t.is_ok()) return fail(t.status());
  enable_graceful_interrupt();
  ops::OpContext ctx = make_context();
  if (!a.hostname.empty()) ctx.hostname = a.hostname;
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  auto r = with_stream_progress(show_progress(g), "dump ", [&](std::atomic<uint64_t>* bytes) {
    o.bytes_done = bytes;
    return ops::mysql_dump(**repo, o, ctx);
  });
  if (!r.is_ok()) return fail(r.status());
  const auto& s = r->snapshot;
  const auto& m = s.summary;
  size_t tables = 0;
  for (const auto& [db, t] : r->tables) tables += t.size();
  if (g.json) {
    nlohmann::json j = saved_snapshot_json(s);
    j["tool"] = r->tool;
    j["server_version"] = r->server_version;
    j["dump_bytes"] = r->dump_bytes;
    j["rows"] = r->rows;
    nlohmann::json t = nlohmann::json::object();
    for (const auto& [db, ts] : r->tables) {
      nlohmann::json per = nlohmann::json::object();
      for (const auto& [name, rows] : ts) per[name] = rows;
      t[db] = per;
    }
    j["tables"] = t;
    fmt::print("{}\n", j.dump());
    return kExitOk;
  }
  if (!g.quiet) {
    auto n = [](size_t count, const char* what) { return fmt::format("{} {}{}", count, what, count == 1 ? "" : "s"); };
    fmt::print("{} of {} ({}): {}, {}, {}, {}\n", r->tool, o.conn.display(), r->server_version,
               format_bytes(r->dump_bytes), n(r->tables.size(), "database"), n(tables, "table"), n(r->rows, "row"));
    fmt::print("Added to the repository: {} ({} before compression) in {}\n", format_bytes(m.data_added),
               format_bytes(m.data_added_raw), format_duration(m.backup_end_ns - m.backup_start_ns));
  }
  fmt::print("snapshot {} saved\n", s.id.short_hex());
  return kExitOk;
}

int run_mysql_restore(Globals& g, const MysqlRestoreArgs& a) {
  if (auto t = sources::mysql::find_client_tool(); !t.is_ok()) return fail(t.status());
  enable_graceful_interrupt();
  ops::OpContext ctx = make_context();
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  ops::SnapshotFilter filter;
  filter.tags = a.tags;
  auto snap = find_dump_snapshot(**repo, a.snapshot, filter);
  if (!snap.is_ok()) return fail(snap.status());
  ops::MysqlRestoreOptions o;
  o.conn = a.conn.connection();
  o.force = a.force;
  auto r = ops::mysql_restore(**repo, *snap, o, ctx);
  if (!r.is_ok()) return fail(r.status());
  if (g.json) {
    nlohmann::json j;
    j["message_type"] = "summary";
    j["snapshot_id"] = snap->id.hex();
    j["server"] = o.conn.display();
    j["databases"] = r->databases;
    j["bytes"] = r->bytes;
    fmt::print("{}\n", j.dump());
    return kExitOk;
  }
  fmt::print("snapshot {} restored into {} ({}{}{})\n", snap->id.short_hex(), o.conn.display(),
             format_bytes(r->bytes), r->databases.empty() ? "" : ": ", fmt::join(r->databases, ", "));
  return kExitOk;
}

}  // namespace

void add_mysql_command(CLI::App& app, Globals& g) {
  auto* mysql = app.add_subcommand("mysql", "MariaDB / MySQL: logical dumps (mariadb-dump) and their restore");
  mysql->require_subcommand(1);

  auto d = std::make_shared<DumpArgs>();
  auto* dump = mysql->add_subcommand("dump", "Store a consistent dump (mariadb-dump --single-transaction) as a snapshot");
  add_conn_options(dump, d->conn);
  dump->add_option("-d,--database", d->databases, "A database to dump (repeatable)");
  dump->add_flag("--all-databases", d->all_databases, "Dump every database");
  dump->add_option("--tag", d->tags, "Tag the snapshot (repeatable)")->allow_extra_args(false);
  dump->add_option("--hostname", d->hostname, "Host name to record (default: this machine's)");
  dump->add_option("--time", d->time, "Record this time for the snapshot instead of now");
  dump->footer(
      "Runs mariadb-dump (or mysqldump) --single-transaction --routines --events --triggers --hex-blob and streams\n"
      "its output into the snapshot as /dump.sql; the rows of every table are counted from the dump and recorded.\n"
      "InnoDB tables are dumped consistently; other engines (MyISAM) are not.\n"
      "Password: MYSQL_PWD or an option file (--defaults-file), never on the command line.\n"
      "Example: MYSQL_PWD=... lifeboat mysql dump --host db1 --user backup --database shop");
  dump->callback([&g, d] { g.action = [&g, d] { return run_dump(g, *d); }; });

  auto r = std::make_shared<MysqlRestoreArgs>();
  auto* restore = mysql->add_subcommand("restore", "Load a dump snapshot into a server (through the mariadb client)");
  restore->add_option("snapshot", r->snapshot, "Snapshot id, id prefix, \"latest\" or a time")->required();
  add_conn_options(restore, r->conn);
  restore->add_flag("--force", r->force, "Restore even when the dump's databases already hold tables there");
  restore->add_option("--tag", r->tags, "With \"latest\": the newest dump with this tag");
  restore->footer(
      "The dump recreates its databases (CREATE DATABASE IF NOT EXISTS) and their tables. A database that\n"
      "already holds tables is refused unless --force, which replaces the tables the dump has.\n"
      "Example: lifeboat mysql restore latest --host db2 --user root");
  restore->callback([&g, r] { g.action = [&g, r] { return run_mysql_restore(g, *r); }; });
}

}  // namespace lifeboat::cli
