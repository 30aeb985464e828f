#include <unistd.h>

#include <future>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/progress.h"
#include "ops/backup.h"
#include "ops/backup_stream.h"
#include "repo/snapshot_json.h"
#include "util/time_format.h"
#include "util/utf8.h"

namespace lifeboat::cli {
namespace {

struct BackupArgs {
  std::vector<std::string> paths;
  std::vector<std::string> tags;
  std::string host;
  std::vector<std::string> excludes;
  std::vector<std::string> exclude_files;
  bool one_file_system = false;
  std::string time;
  int workers = 0;
  bool stdin_stream = false;
  std::string stdin_filename;
  bool stdin_from_command = false;
};

void print_summary(const Globals& g, const repo::Snapshot& s) {
  const auto& m = s.summary;
  if (g.json) {
    fmt::print("{}\n", saved_snapshot_json(s).dump());
    return;
  }
  if (!g.quiet) {
    if (s.kind == "files") {
      fmt::print("Files:     {:>8} new, {:>8} changed, {:>8} unmodified\n", m.files_new, m.files_changed,
                 m.files_unmodified);
      fmt::print("Dirs:      {:>8} new, {:>8} changed, {:>8} unmodified\n", m.dirs_new, m.dirs_changed,
                 m.dirs_unmodified);
    }
    fmt::print("Processed: {} files, {} in {}\n", m.total_files_processed, format_bytes(m.total_bytes_processed),
               format_duration(m.backup_end_ns - m.backup_start_ns));
    fmt::print("Added to the repository: {} ({} before compression)\n", format_bytes(m.data_added),
               format_bytes(m.data_added_raw));
  }
  fmt::print("snapshot {} saved\n", s.id.short_hex());
}

int run_stream_backup(Globals& g, const BackupArgs& a) {
  ops::StreamBackupOptions o;
  if (a.stdin_from_command) {
    if (a.paths.empty())
      return fail(Status(ErrorCode::kInvalidArgument,
                         "--stdin-from-command needs a command: lifeboat backup --stdin-from-command -- CMD ARGS..."));
    o.command = a.paths;
    o.filename = a.stdin_filename.empty() ? "stdin" : a.stdin_filename;
  } else {
    if (!a.paths.empty())
      return fail(Status(ErrorCode::kInvalidArgument, "--stdin reads standard input: give no paths with it"));
    if (::isatty(STDIN_FILENO))
      return fail(Status(ErrorCode::kInvalidArgument,
                         "--stdin: standard input is a terminal; pipe the data in (e.g. `pg_dump db | lifeboat "
                         "backup --stdin --stdin-filename db.sql`)"));
    o.filename = a.stdin_filename.empty() ? "stdin" : a.stdin_filename;
  }
  o.tags = a.tags;
  if (Status s = check_snapshot_options(a.tags, a.time, &o.time_ns); !s.is_ok()) return fail(s);
  enable_graceful_interrupt();
  ops::OpContext ctx = make_context();
  if (!a.host.empty()) ctx.hostname = a.host;
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  auto r = with_stream_progress(show_progress(g), "", [&](std::atomic<uint64_t>* bytes) {
    o.bytes_done = bytes;
    return ops::backup_stream(**repo, o, ctx);
  });
  if (!r.is_ok()) return fail(r.status());
  print_summary(g, *r);
  return kExitOk;
}

int run_backup(Globals& g, const BackupArgs& a) {
  if (a.stdin_stream || a.stdin_from_command) return run_stream_backup(g, a);
  if (!a.stdin_filename.empty())
    return fail(Status(ErrorCode::kInvalidArgument, "--stdin-filename goes with --stdin or --stdin-from-command"));
  if (a.paths.empty())
    return fail(Status(ErrorCode::kInvalidArgument,
                       "nothing to back up: give at least one path (or --stdin / --stdin-from-command)"));
  ops::BackupOptions o;
  o.paths = a.paths;
  o.tags = a.tags;
  o.excludes = a.excludes;
  o.exclude_files = a.exclude_files;
  o.one_file_system = a.one_file_system;
  o.workers = a.workers;
  o.cache_root = cache_root(g);
  char cwd[4096];
  if (::getcwd(cwd, sizeof cwd)) o.working_dir = cwd;
  if (!a.time.empty()) {
    auto t = parse_time(a.time);
    if (!t.is_ok()) return fail(t.status());
    o.time_ns = *t;
  }
  if (Status s = check_snapshot_options(a.tags, "", nullptr); !s.is_ok()) return fail(s);
  enable_graceful_interrupt();
  ops::OpContext ctx = make_context();
  if (!a.host.empty()) ctx.hostname = a.host;

  // Open the repository (key derivation) while the backup starts scanning.
  std::unique_ptr<repo::Repository> repo;
  auto opening = std::async(std::launch::async, [&g] { return open_repository(g); });
  ops::RepositoryOpener opener = [&]() -> Result<repo::Repository*> {
    auto r = opening.get();
    if (!r.is_ok()) return r.status();
    repo = std::move(*r);
    return repo.get();
  };

  bool show = stdout_is_terminal() && !g.quiet && !g.json;
  o.scan = show;
  ops::BackupProgress progress;
  ProgressLine line(show, [&](double elapsed) {
    return fmt::format("[{}] {} files, {}", format_clock(elapsed), progress.files_done.load(),
                       rate_and_eta(progress.bytes_done, progress.bytes_total, progress.scan_finished, elapsed));
  });
  auto r = ops::backup(opener, o, ctx, &progress);
  line.stop();
  if (!r.is_ok()) return fail(r.status());
  for (const auto& w : r->warnings) print_warning(w);
  for (const auto& n : r->notes) print_warning(n);
  print_summary(g, r->snapshot);
  if (!r->warnings.empty()) {
    fmt::print(stderr, "lifeboat: warning: {} entr{} could not be read and are not in the snapshot (see above)\n",
               r->warnings.size(), r->warnings.size() == 1 ? "y" : "ies");
    return kExitPartial;
  }
  return kExitOk;
}

}  // namespace

void add_backup_command(CLI::App& app, Globals& g) {
  auto a = std::make_shared<BackupArgs>();
  auto* cmd = app.add_subcommand("backup", "Back up files and directories into a new snapshot");
  cmd->add_option("paths", a->paths, "Files and directories to back up (with --stdin-from-command: the command)");
  cmd->add_option("--tag", a->tags, "Tag the snapshot (repeatable)")->allow_extra_args(false);
  cmd->add_option("--host", a->host, "Host name to record (default: this machine's)");
  cmd->add_option("-e,--exclude", a->excludes, "Exclude paths matching a glob (repeatable; see docs/USAGE.md)")
      ->allow_extra_args(false);
  cmd->add_option("--exclude-file", a->exclude_files, "Read exclude patterns from a file, one per line")
      ->allow_extra_args(false);
  cmd->add_flag("-x,--one-file-system", a->one_file_system, "Do not cross file-system boundaries");
  cmd->add_option("--time", a->time, "Record this time for the snapshot instead of now (RFC 3339 or \"YYYY-MM-DD HH:MM:SS\")");
  cmd->add_flag("--stdin", a->stdin_stream, "Back up standard input as one file");
  cmd->add_option("--stdin-filename", a->stdin_filename, "The file's name in the snapshot (default: stdin)");
  cmd->add_flag("--stdin-from-command", a->stdin_from_command,
                "Back up the output of the command given after --; if it exits non-zero, no snapshot is written");
  cmd->add_option("--workers", a->workers, "Worker threads (default: one per CPU)")->check(CLI::Range(0, 256));
  cmd->footer(
      "Unchanged files are recognised by the local files cache (size, mtime, ctime, inode) and not read again.\n"
      "Exit code 3: the snapshot was written, but some entries could not be read (listed as warnings).\n"
      "Streams: `pg_dump db | lifeboat backup --stdin --stdin-filename db.sql`, or\n"
      "`lifeboat backup --stdin-from-command --stdin-filename db.sql -- pg_dump db` (which also checks the exit code).");
  cmd->callback([&g, a] { g.action = [&g, a] { return run_backup(g, *a); }; });
}

}  // namespace lifeboat::cli
