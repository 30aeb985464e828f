// lifeboat pg: PostgreSQL base backups, point-in-time recovery and the
// archive's status. (pg dump / restore-dump: cmd_pg_dump.cc.)
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/progress.h"
#include "interfaces/cli/render.h"
#include "ops/pg_basebackup.h"
#include "ops/pg_restore.h"
#include "ops/pg_status.h"
#include "repo/snapshot_json.h"
#include "util/size.h"
#include "util/time_format.h"

namespace lifeboat::cli {

namespace {

struct BaseArgs {
  std::string dsn;
  std::vector<std::string> tags;
  std::string page_chunk = "64KiB";
  bool spread_checkpoint = false;
};

struct PgRestoreArgs {
  std::string pgdata;
  std::string snapshot;
  std::string system_id;
  std::string target_time;
  std::string target_lsn;
  std::string target_xid;
  bool exclusive = false;
  std::string archive_mode = "preserve";
  int port = 0;
  bool force = false;
  bool delta = false;
  bool start = false;
  std::string pg_bin;
};

Result<std::optional<uint64_t>> system_id_arg(const std::string& text) {
  if (text.empty()) return std::optional<uint64_t>();
  if (text.find_first_not_of("0123456789") != std::string::npos)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("--system-id \"{}\" is not a number: use the identifier `lifeboat pg status` shows", text));
  return std::optional<uint64_t>(std::stoull(text));
}

// Also PostgreSQL's own form, as `select now()` prints it:
// "2026-11-22 08:25:06.742914+00".
Result<int64_t> parse_target_time(const std::string& text) {
  auto t = parse_time(text);
  if (t.is_ok()) return t;
  std::string s = text;
  if (s.size() > 19 && s[10] == ' ') s[10] = 'T';
  auto sign = s.find_last_of("+-");
  if (sign != std::string::npos && sign > 18) {
    std::string zone = s.substr(sign + 1);
    if (zone.size() == 2) s += ":00";
    else if (zone.size() == 4 && zone.find(':') == std::string::npos) s.insert(sign + 3, ":");
  }
  auto again = parse_time(s);
  if (again.is_ok()) return again;
  return t.status();
}

std::string self_path() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "lifeboat";
  return std::string(buf, static_cast<size_t>(n));
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") ==
                        std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int run_basebackup(Globals& g, const BaseArgs& a) {
  ops::PgBaseBackupOptions o;
  o.dsn = a.dsn;
  o.tags = a.tags;
  o.fast_checkpoint = !a.spread_checkpoint;
  auto chunk = parse_size(a.page_chunk);
  if (!chunk.is_ok()) return fail(chunk.status().with_context("--page-chunk"));
  o.page_chunk = static_cast<size_t>(*chunk);
  enable_graceful_interrupt();
  ops::OpContext ctx = make_context();
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  auto r = with_stream_progress(show_progress(g), "", [&](std::atomic<uint64_t>* bytes) {
    o.bytes_done = bytes;
    return ops::pg_basebackup(**repo, o, ctx);
  });
  if (!r.is_ok()) return fail(r.status());
  const auto& s = r->snapshot;
  const auto& m = s.summary;
  if (g.json) {
    nlohmann::json j = saved_snapshot_json(s);
    j["source"] = nlohmann::json::parse(s.source_json);
    j["delta_chunks"] = r->delta_chunks;
    fmt::print("{}\n", j.dump());
  } else {
    if (!g.quiet) {
      auto src = nlohmann::json::parse(s.source_json);
      fmt::print("Cluster:   {} (PostgreSQL {}), timeline {}\n", r->info.system_id, r->info.server_version,
                 r->info.timeline);
      fmt::print("WAL:       {} .. {} ({} .. {})\n", src["start_lsn"].get<std::string>(),
                 src["stop_lsn"].get<std::string>(), src["start_wal"].get<std::string>(),
                 src["stop_wal"].get<std::string>());
      fmt::print("Processed: {} files, {} in {}\n", m.total_files_processed, format_bytes(m.total_bytes_processed),
                 format_duration(m.backup_end_ns - m.backup_start_ns));
      fmt::print("Added to the repository: {} ({} before compression)\n", format_bytes(m.data_added),
                 format_bytes(m.data_added_raw));
      if (src.contains("delta_against"))
        fmt::print("Changed:   {} page chunks stored as deltas against snapshot {:.8}\n", r->delta_chunks,
                   src["delta_against"].get<std::string>());
    }
    fmt::print("snapshot {} saved\n", s.id.short_hex());
  }
  return kExitOk;
}

int run_pg_restore(Globals& g, const PgRestoreArgs& a) {
  ops::PgRestoreOptions o;
  o.pgdata = a.pgdata;
  o.snapshot = a.snapshot;
  auto id = system_id_arg(a.system_id);
  if (!id.is_ok()) return fail(id.status());
  o.system_id = *id;
  if (!a.target_time.empty()) {
    auto t = parse_target_time(a.target_time);
    if (!t.is_ok()) return fail(t.status().with_context("--target-time"));
    o.target_time_ns = *t;
  }
  o.target_lsn = a.target_lsn;
  o.target_xid = a.target_xid;
  o.target_inclusive = !a.exclusive;
  if (a.archive_mode != "preserve" && a.archive_mode != "off")
    return fail(Status(ErrorCode::kInvalidArgument, "--archive-mode is preserve or off"));
  o.archive_off = a.archive_mode == "off";
  o.port = a.port;
  o.force = a.force;
  o.delta = a.delta;
  o.start = a.start;
  o.pg_bindir = a.pg_bin;
  ops::OpContext ctx = make_context();
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  bool pwfile = false;
  o.restore_command = pg_restore_command(g, o.server_env, &pwfile);
  enable_graceful_interrupt();
  auto r = ops::pg_restore(**repo, o, ctx);
  if (!r.is_ok()) return fail(r.status());
  if (g.json) {
    nlohmann::json j{{"message_type", "pg_restore"},
                     {"base_backup", r->base.id.hex()},
                     {"system_identifier", std::to_string(r->info.system_id)},
                     {"files", r->files},
                     {"files_kept", r->files_kept},
                     {"files_removed", r->files_removed},
                     {"bytes", r->bytes},
                     {"restore_seconds", r->restore_seconds},
                     {"started", r->started}};
    if (r->started) {
      j["recovery_seconds"] = r->recovery_seconds;
      j["rto_seconds"] = r->restore_seconds + r->recovery_seconds;
    }
    fmt::print("{}\n", j.dump());
    return kExitOk;
  }
  fmt::print("restored base backup {} ({} files, {}) into {} in {:.2f} s\n", r->base.id.short_hex(), r->files,
             format_bytes(r->bytes), a.pgdata, r->restore_seconds);
  if (a.delta)
    fmt::print("delta: {} files were already right, {} not in the backup were removed\n", r->files_kept,
               r->files_removed);
  if (r->started)
    fmt::print("recovered and promoted in {:.2f} s; restore + recovery (RTO): {:.2f} s\n", r->recovery_seconds,
               r->restore_seconds + r->recovery_seconds);
  else
    fmt::print("start PostgreSQL on {} to recover{}\n", a.pgdata,
               !pwfile ? " (its environment needs LIFEBOAT_PASSWORD or LIFEBOAT_PASSWORD_FILE for "
                                "restore_command)"
                              : "");
  return kExitOk;
}

int run_status(Globals& g, const std::string& system_id) {
  auto id = system_id_arg(system_id);
  if (!id.is_ok()) return fail(id.status());
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  auto st = ops::pg_status(**repo, *id);
  if (!st.is_ok()) return fail(st.status());
  bool gaps = false;
  nlohmann::json all = nlohmann::json::array();
  for (const auto& c : *st) {
    gaps |= !c.gaps.empty();
    if (g.json) {
      nlohmann::json j{{"system_identifier", std::to_string(c.system_id)},
                       {"base_backups", c.base_backups},
                       {"wal_files", c.wal_files},
                       {"wal_bytes", c.wal_bytes},
                       {"oldest_wal", c.oldest_wal},
                       {"newest_wal", c.newest_wal},
                       {"gaps", c.gaps}};
      if (c.window_start_ns) j["recoverable_from"] = format_rfc3339(c.window_start_ns, true, 0);
      if (c.window_end_ns) j["recoverable_to"] = format_rfc3339(c.window_end_ns, true, 0);
      if (c.rpo_seconds >= 0) j["wal_age_seconds"] = c.rpo_seconds;
      all.push_back(j);
      continue;
    }
    fmt::print("cluster {}\n", c.system_id);
    fmt::print("  base backups:   {}\n", c.base_backups);
    fmt::print("  archived WAL:   {} files, {} ({} .. {})\n", c.wal_files, format_bytes(c.wal_bytes),
               c.oldest_wal.empty() ? "-" : c.oldest_wal, c.newest_wal.empty() ? "-" : c.newest_wal);
    if (c.window_start_ns)
      fmt::print("  recoverable:    {} .. {}\n", format_local(c.window_start_ns),
                 c.window_end_ns ? format_local(c.window_end_ns) : "?");
    else
      fmt::print("  recoverable:    nothing (no base backup)\n");
    if (c.rpo_seconds >= 0) fmt::print("  newest WAL age: {:.0f} s (the current RPO)\n", c.rpo_seconds);
    for (const auto& gap : c.gaps) fmt::print("  error: gap in the WAL chain: {}\n", gap);
  }
  if (g.json) fmt::print("{}\n", all.dump());
  if (gaps) {
    fmt::print(stderr, "lifeboat: error: the WAL archive has gaps: recovery cannot pass them (check archive_command "
                       "and take a new base backup)\n");
    return kExitFatal;
  }
  return kExitOk;
}

}  // namespace

std::string pg_restore_command(const Globals& g, std::vector<std::pair<std::string, std::string>>& server_env,
                               bool* uses_password_file) {
  // This binary, this repository, and the passphrase the way it was given:
  // a file is named; a variable is passed to a server started here (and
  // must be in the server's environment otherwise). wal-fetch finds the
  // cluster in the restored pg_control (it runs in the data directory).
  std::string cmd = shell_quote(self_path()) + " --repo " + shell_quote(repository_location(g));
  std::string pwfile = !g.password_file.empty() ? g.password_file : (std::getenv("LIFEBOAT_PASSWORD_FILE") ?: "");
  if (!pwfile.empty()) {
    char abs[PATH_MAX];
    cmd += " --password-file " + shell_quote(::realpath(pwfile.c_str(), abs) ? abs : pwfile);
  } else {
    for (const char* var : {"LIFEBOAT_PASSWORD", "LIFEBOAT_PASSWORD_COMMAND"})
      if (const char* v = std::getenv(var)) server_env.emplace_back(var, v);
  }
  if (!g.cache_dir.empty()) cmd += " --cache-dir " + shell_quote(g.cache_dir);
  else if (const char* c = std::getenv("LIFEBOAT_CACHE_DIR")) server_env.emplace_back("LIFEBOAT_CACHE_DIR", c);
  if (uses_password_file) *uses_password_file = !pwfile.empty();
  return cmd + " wal-fetch %f %p";
}

void add_pg_command(CLI::App& app, Globals& g) {
  auto* pg = app.add_subcommand("pg", "PostgreSQL: base backups, WAL archiving, point-in-time recovery, logical dumps");
  pg->require_subcommand(1);

  auto b = std::make_shared<BaseArgs>();
  auto* base = pg->add_subcommand("basebackup", "Take an online base backup into the repository");
  base->add_option("--dsn", b->dsn, "Connection string or URI (a replication connection is made)")->required();
  base->add_option("--tag", b->tags, "Tag the snapshot (repeatable)")->allow_extra_args(false);
  base->add_option("--page-chunk", b->page_chunk, "Chunk size for relation files, a multiple of 8KiB (default 64KiB)");
  base->add_flag("--spread-checkpoint", b->spread_checkpoint, "Let the starting checkpoint spread (default: fast)");
  base->footer("Needs a user with the REPLICATION attribute and WAL archiving to this repository\n"
               "(archive_command = 'lifeboat ... wal-push %p'). PostgreSQL 15 or newer.");
  base->callback([&g, b] { g.action = [&g, b] { return run_basebackup(g, *b); }; });

  auto r = std::make_shared<PgRestoreArgs>();
  auto* restore = pg->add_subcommand("restore", "Restore a base backup and recover to a point in time");
  restore->add_option("--pgdata", r->pgdata, "The data directory to restore into (empty or new)")->required();
  restore->add_option("--snapshot", r->snapshot, "The base backup to use (default: the newest that ends before the "
                                                "target)");
  restore->add_option("--system-id", r->system_id, "The cluster, when the repository holds several");
  restore->add_option("--target-time", r->target_time, "Recover to this time (RFC 3339, or \"YYYY-MM-DD HH:MM:SS\" "
                                                       "local time)");
  restore->add_option("--target-lsn", r->target_lsn, "Recover to this LSN");
  restore->add_option("--target-xid", r->target_xid, "Recover to this transaction id");
  restore->add_flag("--exclusive", r->exclusive, "Stop just before the target instead of just after it");
  restore->add_option("--archive-mode", r->archive_mode, "preserve (default) or off: archive_mode of the copy");
  restore->add_option("--port", r->port, "Set the restored server's port")->check(CLI::Range(1, 65535));
  restore->add_flag("--force", r->force, "Restore into a non-empty directory (files there are overwritten)");
  restore->add_flag("--delta", r->delta, "Restore into an existing data directory: write only the files that differ "
                                         "from the base backup, remove those it lacks (the server must be stopped)");
  restore->add_flag("--start", r->start, "Start PostgreSQL, recover to the target, promote, and report the times");
  restore->add_option("--pg-bin", r->pg_bin, "PostgreSQL's bin directory (default: /usr/lib/postgresql/<ver>/bin)");
  restore->footer("Without a target, recovery replays all archived WAL (latest). Writes restore_command\n"
                  "(lifeboat wal-fetch) and recovery.signal into the data directory.");
  restore->callback([&g, r] { g.action = [&g, r] { return run_pg_restore(g, *r); }; });

  auto sid = std::make_shared<std::string>();
  auto* status = pg->add_subcommand("status", "Show the recoverable window, the WAL archive's age (RPO) and gaps");
  status->add_option("--system-id", *sid, "Only this cluster");
  status->footer("Exit code 1 when the WAL chain has a gap.");
  status->callback([&g, sid] { g.action = [&g, sid] { return run_status(g, *sid); }; });

  add_pg_logical_commands(pg, g);
}

}  // namespace lifeboat::cli
