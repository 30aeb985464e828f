#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "interfaces/cli/cli.h"

namespace lifeboat::cli {
namespace {

volatile sig_atomic_t graceful = 0;

void on_signal(int) {
  static volatile sig_atomic_t seen = 0;
  // Commands that do not poll for cancellation stop at once; long ones
  // (backup, restore, check) stop at the next safe point. A second Ctrl-C
  // always stops at once.
  if (seen || !graceful) ::_exit(kExitInterrupted);
  seen = 1;
  cancel_token().cancel();
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace

void enable_graceful_interrupt() { graceful = 1; }

int run(int argc, char** argv) {
  install_signal_handlers();
  Globals g;
  CLI::App app{"lifeboat: deduplicating, compressed, encrypted backups and their restores.\n"
               "The repository comes from --repo or LIFEBOAT_REPOSITORY; the password from LIFEBOAT_PASSWORD,\n"
               "LIFEBOAT_PASSWORD_FILE, --password-file, --password-command or a terminal prompt.\n"
               "Exit codes: 0 ok, 1 error, 3 backup incomplete (unreadable files), 10 no repository,\n"
               "11 repository locked, 12 wrong password, 130 interrupted.",
               "lifeboat"};
  app.require_subcommand(1);
  app.fallthrough();
  app.option_defaults()->always_capture_default(false);
  app.add_option("-r,--repo", g.repo, "Repository location (env LIFEBOAT_REPOSITORY)");
  app.add_option("--password-file", g.password_file, "Read the repository password from a file (env LIFEBOAT_PASSWORD_FILE)");
  app.add_option("--password-command", g.password_command,
                 "Run a shell command whose output is the password (env LIFEBOAT_PASSWORD_COMMAND)");
  app.add_option("--cache-dir", g.cache_dir, "Local cache directory (env LIFEBOAT_CACHE_DIR; default ~/.cache/lifeboat)");
  app.add_flag("--no-cache", g.no_cache, "Do not use the local files cache (every file is read)");
  app.add_option("--connections", g.connections,
                 "Requests in flight to an object store (env LIFEBOAT_CONNECTIONS; default 5; local disks use 1)")
      ->check(CLI::Range(1, 64));
  app.add_flag("--json", g.json, "Machine-readable JSON output");
  app.add_flag("-q,--quiet", g.quiet, "Print only errors and the result");
  app.add_flag("-v,--verbose", g.verbose, "Print more detail");

  add_init_command(app, g);
  add_backup_command(app, g);
  add_snapshots_command(app, g);
  add_ls_command(app, g);
  add_find_command(app, g);
  add_diff_command(app, g);
  add_stats_command(app, g);
  add_restore_command(app, g);
  add_dump_command(app, g);
  add_pg_command(app, g);
  add_wal_commands(app, g);
  add_redis_command(app, g);
  add_mysql_command(app, g);
  add_mongo_command(app, g);
  add_verify_restore_command(app, g);
  add_check_command(app, g);
  add_forget_command(app, g);
  add_prune_command(app, g);
  add_copy_command(app, g);
  add_key_command(app, g);
  add_log_command(app, g);
  add_config_command(app, g);
  add_repair_command(app, g);
  add_unlock_command(app, g);
  add_version_command(app, g);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One clear line and the way to more help; usage errors exit 1.
    std::string msg = e.what();
    // CLI11 reports a mistyped command as "A subcommand is required"; name it.
    if (app.get_subcommands().empty()) {
      auto rest = app.remaining();
      if (!rest.empty())
        msg = fmt::format("unknown {} \"{}\"", rest.front().starts_with("-") ? "option" : "command", rest.front());
      else if (rest.empty() && dynamic_cast<const CLI::RequiredError*>(&e))
        msg = "no command given";
    } else if (dynamic_cast<const CLI::RequiredError*>(&e) && msg.find("subcommand is required") != std::string::npos) {
      // A command with subcommands ("key") given without one: list them.
      CLI::App* cur = &app;
      std::string path = "lifeboat";
      while (!cur->get_subcommands().empty()) {
        cur = cur->get_subcommands().front();
        path += " " + cur->get_name();
      }
      std::string names;
      for (const CLI::App* sub : cur->get_subcommands([](CLI::App*) { return true; }))
        names += (names.empty() ? "" : ", ") + sub->get_name();
      auto rest = cur->remaining();
      msg = rest.empty() ? fmt::format("`{}` needs one of: {}", path, names)
                         : fmt::format("unknown command \"{}\" for `{}` (one of: {})", rest.front(), path, names);
    }
    fmt::print(stderr, "lifeboat: error: {} (see lifeboat --help, or lifeboat COMMAND --help)\n", msg);
    return kExitFatal;
  }
  if (!g.action) return kExitFatal;
  // The backends read it when they open (for copy's other repository too).
  if (g.connections > 0) ::setenv("LIFEBOAT_CONNECTIONS", std::to_string(g.connections).c_str(), 1);
  for (const CLI::App* cur = &app; !cur->get_subcommands().empty();) {
    cur = cur->get_subcommands().front();
    g.command += (g.command.empty() ? "" : " ") + cur->get_name();
  }
  return g.action();
}

}  // namespace lifeboat::cli
