// The lifeboat command line: argument parsing and presentation only. Every
// command is a thin wrapper over an ops:: call; this layer alone reads argv,
// the environment and the terminal, and prints.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include "ops/context.h"
#include "ops/prune.h"
#include "repo/repository.h"
#include "util/cancel.h"
#include "util/status.h"

namespace lifeboat::cli {

struct Globals {
  std::string repo;
  std::string password_file;
  std::string password_command;
  std::string cache_dir;
  bool no_cache = false;
  int connections = 0;  // --connections; 0: the backend's default
  bool json = false;
  bool quiet = false;
  int verbose = 0;
  // Set by the chosen command; run after parsing.
  std::function<int()> action;
  // The chosen command's path ("backup", "key add"), set after parsing.
  std::string command;
};

// Registration of each command (cmd_<name>.cc).
void add_init_command(CLI::App& app, Globals& g);
void add_backup_command(CLI::App& app, Globals& g);
void add_snapshots_command(CLI::App& app, Globals& g);
void add_ls_command(CLI::App& app, Globals& g);
void add_find_command(CLI::App& app, Globals& g);
void add_diff_command(CLI::App& app, Globals& g);
void add_stats_command(CLI::App& app, Globals& g);
void add_restore_command(CLI::App& app, Globals& g);
void add_check_command(CLI::App& app, Globals& g);
void add_forget_command(CLI::App& app, Globals& g);
void add_key_command(CLI::App& app, Globals& g);
void add_log_command(CLI::App& app, Globals& g);
void add_config_command(CLI::App& app, Globals& g);
void add_repair_command(CLI::App& app, Globals& g);
void add_prune_command(CLI::App& app, Globals& g);
void add_copy_command(CLI::App& app, Globals& g);
void add_unlock_command(CLI::App& app, Globals& g);
void add_dump_command(CLI::App& app, Globals& g);
// Database sources (issue 5).
void add_pg_command(CLI::App& app, Globals& g);             // cmd_pg.cc: pg basebackup/restore/status
void add_pg_logical_commands(CLI::App* pg, Globals& g);     // cmd_pg_dump.cc: pg dump/restore-dump
void add_wal_commands(CLI::App& app, Globals& g);           // cmd_wal.cc: wal-push, wal-fetch
void add_redis_command(CLI::App& app, Globals& g);          // cmd_redis.cc
void add_mysql_command(CLI::App& app, Globals& g);          // cmd_mysql.cc
void add_mongo_command(CLI::App& app, Globals& g);          // cmd_mongo.cc
void add_verify_restore_command(CLI::App& app, Globals& g); // cmd_verify_restore.cc
// The restore_command that fetches WAL from this repository (cmd_pg.cc),
// and the environment a server started by lifeboat needs for it.
std::string pg_restore_command(const Globals& g, std::vector<std::pair<std::string, std::string>>& server_env,
                               bool* uses_password_file = nullptr);
void add_version_command(CLI::App& app, Globals& g);

// Runs the CLI; returns the process exit code.
int run(int argc, char** argv);

// ------------------------------------------------------------ helpers

CancelToken& cancel_token();
// From now on Ctrl-C/SIGTERM cancels cancel_token() (and the operation
// stops at a safe point, exit 130) instead of ending the process at once.
void enable_graceful_interrupt();
ops::OpContext make_context();

// The passphrase from (in order) --password-file, --password-command,
// LIFEBOAT_PASSWORD_FILE, LIFEBOAT_PASSWORD_COMMAND, LIFEBOAT_PASSWORD, or a
// prompt on the terminal (twice when `confirm`).
Result<std::string> read_password(const Globals& g, bool confirm);
// A new passphrase (key add, key passwd) from `file`,
// LIFEBOAT_NEW_PASSWORD_FILE, LIFEBOAT_NEW_PASSWORD, or a prompt (twice).
Result<std::string> read_new_password(const std::string& file);
std::string repository_location(const Globals& g);
// Opens the repository named by the globals (prompting for the password).
// A write-only key opens it only for `backup`, `key list` and `log`; any
// other command ends with one line saying it needs a full key.
Result<std::unique_ptr<repo::Repository>> open_repository(const Globals& g);
// The same, through the local key cache (repo/key_cache.h) in the cache
// directory: for commands PostgreSQL runs once per WAL file. Write-only keys
// are allowed (wal-push archives like backup does).
Result<std::unique_ptr<repo::Repository>> open_repository_with_key_cache(const Globals& g);
// The other repository of copy and init --from-repo: --from-repo,
// --from-password-file/-command, LIFEBOAT_FROM_* or a prompt.
struct FromRepoArgs {
  std::string repo;
  std::string password_file;
  std::string password_command;
};
void add_from_repo_options(CLI::App* cmd, FromRepoArgs& args);
Result<std::unique_ptr<repo::Repository>> open_from_repository(const FromRepoArgs& args);
// The files-cache root, or "" when disabled.
std::string cache_root(const Globals& g);

// Options every command that writes a snapshot shares: --tag values
// (non-empty, no comma) and --time (into *time_ns when given).
Status check_snapshot_options(const std::vector<std::string>& tags, const std::string& time,
                              std::optional<int64_t>* time_ns);
// The --json summary of a saved snapshot: its summary, id, kind, duration.
nlohmann::json saved_snapshot_json(const repo::Snapshot& snapshot);

// Prints "lifeboat: error: ..." and returns the exit code for `status`.
int fail(const Status& status);
void print_warning(const std::string& message);
bool stdout_is_terminal();
// Whether a progress line belongs on stdout: a terminal, without --quiet/--json.
bool show_progress(const Globals& g);

std::string mode_string(const repo::Node& node);

// prune's options, shared with forget --prune (cmd_prune.cc).
struct PruneArgs {
  std::string max_unused = "5%";
  std::string max_repack_size;
};
void add_prune_options(CLI::App* cmd, PruneArgs& args);
Status apply_prune_args(const PruneArgs& args, ops::PruneOptions& options);
nlohmann::json prune_json(const ops::PruneResult& result, bool dry_run);
void print_prune_result(const ops::PruneResult& result, bool dry_run);

}  // namespace lifeboat::cli
