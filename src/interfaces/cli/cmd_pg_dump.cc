// lifeboat pg dump / pg restore-dump: PostgreSQL logical dumps
// (ops/pg_dump.h, ops/pg_dump_restore.h; docs/DATABASES.md).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/progress.h"
#include "ops/pg_dump.h"
#include "ops/pg_dump_restore.h"
#include "repo/snapshot_json.h"
#include "util/posix_error.h"
#include "util/size.h"
#include "util/time_format.h"

namespace lifeboat::cli {

namespace {

std::string temp_root() {
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

struct PgDumpArgs {
  std::string dsn;
  int jobs = 1;
  std::string format;
  std::vector<std::string> tags;
  std::string host;
  std::string time;
  std::string bindir;
  std::string spool_dir;
  std::string spool_max;
};

int run_pg_dump(Globals& g, const PgDumpArgs& a) {
  ops::PgDumpOptions o;
  o.dsn = a.dsn;
  o.jobs = a.jobs;
  o.format = a.format.empty() ? (a.jobs > 1 ? "directory" : "custom") : a.format;
  if (o.format == "custom" && a.jobs > 1)
    return fail(Status(ErrorCode::kInvalidArgument,
                       "--jobs needs the directory format (pg_dump writes one file per table in parallel): drop "
                       "--format custom"));
  o.tags = a.tags;
  o.bindir = a.bindir;
  o.spool_dir = a.spool_dir.empty() ? temp_root() : a.spool_dir;
  if (!a.spool_max.empty()) {
    auto limit = parse_size(a.spool_max);
    if (!limit.is_ok()) return fail(limit.status().with_context("--spool-max"));
    if (*limit < (1u << 20))
      return fail(Status(ErrorCode::kInvalidArgument, "--spool-max must be at least 1M"));
    o.spool_limit = *limit;
  }
  if (Status s = check_snapshot_options(a.tags, a.time, &o.time_ns); !s.is_ok()) return fail(s);
  enable_graceful_interrupt();
  ops::OpContext ctx = make_context();
  if (!a.host.empty()) ctx.hostname = a.host;
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  auto r = with_stream_progress(show_progress(g), "pg_dump: ", [&](std::atomic<uint64_t>* bytes) {
    o.bytes_done = bytes;
    return ops::pg_dump_backup(**repo, o, ctx);
  });
  if (!r.is_ok()) return fail(r.status());
  const auto& s = r->snapshot;
  const auto& src = r->source;
  const auto& m = s.summary;
  if (g.json) {
    nlohmann::json j = saved_snapshot_json(s);
    j["database"] = src.database;
    j["server_version"] = src.server_version;
    j["pg_dump_version"] = src.pg_dump_version;
    j["format"] = src.format;
    j["path"] = src.path;
    j["tables"] = src.tables.size();
    j["rows"] = src.total_rows();
    fmt::print("{}\n", j.dump());
    return kExitOk;
  }
  if (!g.quiet) {
    fmt::print("Database:  {} on {} (PostgreSQL {}), pg_dump {}, {} format\n", src.database, src.where,
               src.server_version, src.pg_dump_version, src.format);
    fmt::print("Tables:    {}, {} rows (counted in the dump's own snapshot)\n", src.tables.size(), src.total_rows());
    fmt::print("Processed: {} file{}, {} in {}\n", m.total_files_processed, m.total_files_processed == 1 ? "" : "s",
               format_bytes(m.total_bytes_processed), format_duration(m.backup_end_ns - m.backup_start_ns));
    fmt::print("Added to the repository: {} ({} before compression)\n", format_bytes(m.data_added),
               format_bytes(m.data_added_raw));
  }
  fmt::print("snapshot {} saved ({})\n", s.id.short_hex(), src.path);
  return kExitOk;
}

struct RestoreDumpArgs {
  std::string snapshot;
  std::string database;
  std::string dsn;
  std::vector<std::string> tables;
  bool clean = false;
  bool data_only = false;
  bool no_owner = false;
  bool no_privileges = false;
  int jobs = 1;
  std::string csv;
  std::string target;
  bool header = false;
  std::string bindir;
  std::string spool_dir;
};

int run_csv(Globals& g, const RestoreDumpArgs& a, repo::Repository& repo, const repo::Snapshot& snap,
            const ops::OpContext& ctx) {
  ops::PgCsvOptions o;
  o.table = a.csv;
  o.header = a.header;
  o.bindir = a.bindir;
  o.spool_dir = a.spool_dir.empty() ? temp_root() : a.spool_dir;
  int fd = STDOUT_FILENO;
  std::string where = "standard output";
  if (!a.target.empty()) {
    fd = ::open(a.target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return fail(posix_error(errno, "unable to create " + a.target + " (it must not exist)"));
    where = a.target;
  }
  auto r = ops::pg_dump_csv(repo, snap, o, [&](std::string_view d) { return write_all(fd, as_bytes(d), where); }, ctx);
  Status s = r.status();
  if (!a.target.empty()) {
    if (s.is_ok() && ::fsync(fd) != 0) s = posix_error(errno, "unable to write " + where);
    ::close(fd);
    if (!s.is_ok()) ::unlink(a.target.c_str());
  }
  if (!s.is_ok()) return fail(s);
  if (r->rows != r->table.rows)
    print_warning(fmt::format("{} rows written, but the dump recorded {} for {}", r->rows, r->table.rows,
                              r->table.qualified()));
  if (!a.target.empty()) {
    if (g.json)
      fmt::print("{}\n", nlohmann::json{{"snapshot_id", snap.id.hex()},
                                        {"table", r->table.qualified()},
                                        {"rows", r->rows},
                                        {"target", a.target}}
                             .dump());
    else if (!g.quiet)
      fmt::print("{} rows of {} written to {}\n", r->rows, r->table.qualified(), a.target);
  }
  return kExitOk;
}

int run_restore_dump(Globals& g, const RestoreDumpArgs& a) {
  if (!a.csv.empty()) {
    if (!a.dsn.empty() || !a.tables.empty() || a.clean || a.data_only || a.jobs != 1)
      return fail(Status(ErrorCode::kInvalidArgument,
                         "--csv TABLE writes one table as CSV and restores nothing: give it without --dsn, --table, "
                         "--clean, --data-only and --jobs"));
  } else {
    if (a.dsn.empty())
      return fail(Status(ErrorCode::kInvalidArgument,
                         "give --dsn TARGET (the database to restore into, which must exist) or --csv TABLE"));
    if (!a.target.empty() || a.header)
      return fail(Status(ErrorCode::kInvalidArgument, "--target and --header go with --csv TABLE"));
  }
  enable_graceful_interrupt();
  ops::OpContext ctx = make_context();
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  if (Status s = (*repo)->load_index(); !s.is_ok()) return fail(s);
  auto snap = ops::find_pg_dump_snapshot(**repo, a.snapshot, a.database);
  if (!snap.is_ok()) return fail(snap.status());
  if (!a.csv.empty()) return run_csv(g, a, **repo, *snap, ctx);

  ops::PgDumpRestoreOptions o;
  o.dsn = a.dsn;
  o.tables = a.tables;
  o.clean = a.clean;
  o.data_only = a.data_only;
  o.no_owner = a.no_owner;
  o.no_privileges = a.no_privileges;
  o.jobs = a.jobs;
  o.bindir = a.bindir;
  o.spool_dir = a.spool_dir.empty() ? temp_root() : a.spool_dir;
  std::atomic<uint64_t> bytes{0};
  o.bytes_done = &bytes;
  uint64_t total = snap->summary.total_bytes_processed;
  bool show = stdout_is_terminal() && !g.quiet && !g.json;
  ProgressLine line(show, [&](double elapsed) {
    return fmt::format("[{}] pg_restore: {}", format_clock(elapsed), rate_and_eta(bytes, total, total > 0, elapsed));
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = ops::pg_restore_dump(**repo, *snap, o, ctx);
  line.stop();
  if (!r.is_ok()) return fail(r.status());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  uint64_t rows = 0;
  for (const auto& t : r->tables) rows += t.rows;
  auto src = ops::PgDumpSource::from_json(snap->source_json);
  std::string database = src.is_ok() ? src->database : "";
  if (g.json) {
    nlohmann::json tables = nlohmann::json::array();
    for (const auto& t : r->tables) tables.push_back({{"table", t.qualified()}, {"rows", t.rows}});
    fmt::print("{}\n", nlohmann::json{{"snapshot_id", snap->id.hex()},
                                      {"database", database},
                                      {"tables", tables},
                                      {"rows", rows},
                                      {"bytes", bytes.load()},
                                      {"single_transaction", r->single_transaction},
                                      {"seconds", seconds}}
                           .dump());
    return kExitOk;
  }
  std::string what = a.tables.empty() ? fmt::format("database {} ({} tables, {} rows at dump time)", database,
                                                    r->tables.size(), rows)
                                      : fmt::format("{} table{} of database {} ({} rows at dump time)",
                                                    r->tables.size(), r->tables.size() == 1 ? "" : "s", database, rows);
  fmt::print("restored {} from snapshot {} in {}\n", what, snap->id.short_hex(),
             format_duration(static_cast<int64_t>(seconds * 1e9)));
  return kExitOk;
}

}  // namespace

void add_pg_logical_commands(CLI::App* pg, Globals& g) {
  {
    auto a = std::make_shared<PgDumpArgs>();
    auto* cmd = pg->add_subcommand("dump", "Store a logical dump of a database (pg_dump), with every table's row count");
    cmd->add_option("--dsn", a->dsn,
                    "The database: \"host=H port=P dbname=D user=U\" or postgresql://U@H:P/D (password from "
                    "PGPASSWORD, PGPASSFILE or ~/.pgpass)")
        ->required();
    cmd->add_option("-j,--jobs", a->jobs, "Dump N tables at once (directory format)")->check(CLI::Range(1, 64));
    cmd->add_option("--format", a->format, "custom (one file, the default) or directory (one file per table)")
        ->check(CLI::IsMember({"custom", "directory"}));
    cmd->add_option("--tag", a->tags, "Tag the snapshot (repeatable)")->allow_extra_args(false);
    cmd->add_option("--host", a->host, "Host name to record (default: this machine's)");
    cmd->add_option("--time", a->time, "Record this time for the snapshot instead of now");
    cmd->add_option("--pg-bin", a->bindir, "Directory of pg_dump (default: PATH), e.g. /usr/lib/postgresql/16/bin");
    cmd->add_option("--spool-dir", a->spool_dir,
                    "Directory format: where pg_dump's files pass through (default: $TMPDIR or /tmp)");
    cmd->add_option("--spool-max", a->spool_max,
                    "Directory format: pause pg_dump while this much waits in the spool (default 64M)");
    cmd->footer(
        "The dump and the row counts come from one MVCC snapshot (pg_export_snapshot + pg_dump --snapshot).\n"
        "pg_dump's own compression is off: the repository compresses, and dumps deduplicate day to day.\n"
        "Restore: lifeboat pg restore-dump latest --dsn \"dbname=app_copy\"; verify: lifeboat verify-restore latest");
    cmd->callback([&g, a] { g.action = [&g, a] { return run_pg_dump(g, *a); }; });
  }
  {
    auto a = std::make_shared<RestoreDumpArgs>();
    auto* cmd = pg->add_subcommand("restore-dump",
                                   "Restore a pg dump snapshot into a database (whole or some tables), or one table "
                                   "as CSV");
    cmd->add_option("snapshot", a->snapshot,
                    "Snapshot id or prefix, or \"latest\" (the newest pg dump, of --database when given)")
        ->required();
    cmd->add_option("--database", a->database, "With latest: the newest dump of this database");
    cmd->add_option("--dsn", a->dsn, "The target database, which must exist (password from PGPASSWORD or PGPASSFILE)");
    cmd->add_option("-t,--table", a->tables, "Restore only this table: name or schema.name (repeatable)");
    cmd->add_flag("--clean", a->clean, "Drop what is restored before creating it again");
    cmd->add_flag("--data-only", a->data_only, "Restore rows only, into tables that exist");
    cmd->add_flag("-O,--no-owner", a->no_owner, "Do not set owners (a target without the dump's roles)");
    cmd->add_flag("-x,--no-privileges", a->no_privileges, "Do not restore GRANTs");
    cmd->add_option("-j,--jobs", a->jobs, "Restore N tables at once (directory-format dumps; not one transaction)")
        ->check(CLI::Range(1, 64));
    cmd->add_option("--csv", a->csv, "Write this table's rows as CSV instead (to standard output or --target)");
    cmd->add_option("--target", a->target, "With --csv: write to this file (must not exist)");
    cmd->add_flag("--header", a->header, "With --csv: a first line with the column names");
    cmd->add_option("--pg-bin", a->bindir, "Directory of pg_restore (default: PATH)");
    cmd->add_option("--spool-dir", a->spool_dir, "Where the pipes pg_restore reads are made (default: $TMPDIR or /tmp)");
    cmd->footer(
        "With one job the restore is one transaction: on any error nothing is restored.\n"
        "--table restores the table's definition and rows (as pg_restore -t: not its indexes, defaults or\n"
        "constraints); into an existing table use --data-only (after TRUNCATE) or --clean.\n"
        "Examples: lifeboat pg restore-dump latest --dsn \"dbname=app_restored\"\n"
        "          lifeboat pg restore-dump 1a2b3c4d --dsn \"dbname=app\" --table public.users --data-only\n"
        "          lifeboat pg restore-dump latest --csv public.users --header > users.csv");
    cmd->callback([&g, a] { g.action = [&g, a] { return run_restore_dump(g, *a); }; });
  }
}

}  // namespace lifeboat::cli
