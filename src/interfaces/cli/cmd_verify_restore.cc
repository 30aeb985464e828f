// lifeboat verify-restore: restore a database snapshot into a scratch server,
// check it, and say PASS or FAIL with the time of each step
// (ops/verify_restore.h; docs/DATABASES.md).
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/render.h"
#include "ops/snapshot_select.h"
#include "ops/verify_restore.h"
#include "util/time_format.h"

namespace lifeboat::cli {

namespace {

struct VerifyArgs {
  std::string snapshot;
  std::vector<std::string> sql;
  std::vector<std::string> expect;
  std::string kind;
  bool keep = false;
  std::string scratch_dir;
  std::string bindir;
  std::string run_as;
  ops::SnapshotFilter filter;
};

const char* const kVerifiable[] = {"pg-dump", "postgres-base", "redis", "mysql-dump"};

bool verifiable(const std::string& kind) {
  for (const char* k : kVerifiable)
    if (kind == k) return true;
  return false;
}

// "latest" is the newest snapshot verify-restore can start a server for (of
// --kind when given); anything else resolves as everywhere.
Result<repo::Snapshot> pick_snapshot(const repo::Repository& repo, const VerifyArgs& a) {
  if (a.snapshot != "latest") return ops::find_snapshot(repo, a.snapshot, a.filter);
  LB_ASSIGN_OR_RETURN(auto all, ops::list_snapshots(repo, a.filter));
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (a.kind.empty() ? verifiable(it->kind) : it->kind == a.kind) return *it;
  return Status(ErrorCode::kNotFound,
                a.kind.empty() ? std::string("the repository has no database snapshot to verify (pg-dump, "
                                             "postgres-base, redis, mysql-dump): see `lifeboat snapshots`")
                               : fmt::format("the repository has no snapshot of kind \"{}\" to verify", a.kind));
}

std::string step_line(const ops::VerifyStep& s) {
  std::string detail = s.detail;
  for (char& c : detail)
    if (c == '\n') c = ' ';
  return fmt::format("{}  {:>7.2f}s  {}{}", s.passed ? "pass" : "FAIL", s.seconds, s.name,
                     detail.empty() ? "" : ": " + detail);
}

int run_verify(Globals& g, const VerifyArgs& a) {
  if (a.sql.size() != a.expect.size())
    return fail(Status(ErrorCode::kInvalidArgument,
                       fmt::format("{} --sql but {} --expect: give each --sql its --expect, in order (e.g. --sql "
                                   "\"SELECT count(*) FROM users\" --expect \">0\")",
                                   a.sql.size(), a.expect.size())));
  ops::VerifyOptions o;
  for (size_t i = 0; i < a.sql.size(); ++i) {
    // A malformed expectation is an error now, not a failed check later.
    if (auto ok = ops::expectation_holds(a.expect[i], "0"); !ok.is_ok()) return fail(ok.status());
    o.assertions.push_back({a.sql[i], a.expect[i]});
  }
  const char* tmp = std::getenv("TMPDIR");
  o.scratch_root = !a.scratch_dir.empty() ? a.scratch_dir : (tmp && *tmp ? tmp : "/tmp");
  o.keep = a.keep;
  o.bindir = a.bindir;
  o.run_as = a.run_as;
  o.pg_restore_command = pg_restore_command(g, o.pg_server_env);
  bool text = !g.json;
  if (text && !g.quiet) o.on_step = [](const ops::VerifyStep& s) {
    fmt::print("{}\n", step_line(s));
    std::fflush(stdout);
  };

  enable_graceful_interrupt();
  ops::OpContext ctx = make_context();
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  if (Status s = (*repo)->load_index(); !s.is_ok()) return fail(s);
  auto snap = pick_snapshot(**repo, a);
  if (!snap.is_ok()) return fail(snap.status());
  if (text && !g.quiet)
    fmt::print("verifying snapshot {} ({}, {}) in a scratch instance\n", snap->id.short_hex(), snap->kind,
               format_local(snap->time_ns));
  auto t0 = std::chrono::steady_clock::now();
  auto report = ops::verify_restore(**repo, *snap, o, ctx);
  if (!report.is_ok()) return fail(report.status());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  bool passed = report->passed();
  if (g.json) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : report->steps)
      steps.push_back({{"name", s.name}, {"passed", s.passed}, {"detail", s.detail}, {"seconds", s.seconds}});
    fmt::print("{}\n", nlohmann::json{{"snapshot_id", snap->id.hex()},
                                      {"kind", report->kind},
                                      {"passed", passed},
                                      {"steps", steps},
                                      {"seconds", seconds}}
                           .dump());
  } else {
    if (g.quiet)
      for (const auto& s : report->steps)
        if (!s.passed) fmt::print("{}\n", step_line(s));
    size_t failed = 0;
    std::string names;
    for (const auto& s : report->steps)
      if (!s.passed) {
        ++failed;
        names += (names.empty() ? "" : "; ") + s.name;
      }
    if (passed)
      fmt::print("PASS: snapshot {} restored and verified in {} ({} steps)\n", snap->id.short_hex(),
                 format_duration(static_cast<int64_t>(seconds * 1e9)), report->steps.size());
    else
      fmt::print("FAIL: snapshot {}: {} of {} steps failed ({}) in {}\n", snap->id.short_hex(), failed,
                 report->steps.size(), names, format_duration(static_cast<int64_t>(seconds * 1e9)));
  }
  return passed ? kExitOk : kExitVerifyFailed;
}

}  // namespace

void add_verify_restore_command(CLI::App& app, Globals& g) {
  auto a = std::make_shared<VerifyArgs>();
  auto* cmd = app.add_subcommand(
      "verify-restore",
      "Restore a database snapshot into a scratch server, compare counts, run assertions, report PASS/FAIL");
  cmd->add_option("snapshot", a->snapshot,
                  "Snapshot id or prefix, or \"latest\" (the newest database snapshot; of --kind when given)")
      ->required();
  cmd->add_option("--sql,--query", a->sql,
                  "An assertion's query (SQL, or a Redis command), returning one value (repeatable)");
  cmd->add_option("--expect", a->expect,
                  "What the query of the same rank must return: \">0\", \"=42\", \"<=10\", \"!=0\" or a value");
  cmd->add_option("--kind", a->kind, "With latest: the newest snapshot of this kind (pg-dump, postgres-base, redis, "
                                     "mysql-dump)");
  cmd->add_flag("--keep", a->keep, "Keep the scratch instance's files (they are stopped anyway)");
  cmd->add_option("--scratch-dir", a->scratch_dir, "Where the scratch instance lives (default: $TMPDIR or /tmp)");
  cmd->add_option("--pg-bin", a->bindir,
                  "PostgreSQL: the server's bin directory (default: the newest in /usr/lib/postgresql/*/bin or PATH)");
  cmd->add_option("--run-as", a->run_as, "When root: the OS user the scratch server runs as (default: postgres)");
  add_filter_options(cmd, a->filter);
  cmd->footer(
      "Exit codes: 0 every step passed; 14 the restore was verified and something failed (see the FAIL lines);\n"
      "1 the verification could not run (e.g. no server installed).\n"
      "Example: lifeboat verify-restore latest --sql \"SELECT count(*) FROM users\" --expect \">0\"");
  cmd->callback([&g, a] { g.action = [&g, a] { return run_verify(g, *a); }; });
}

}  // namespace lifeboat::cli
