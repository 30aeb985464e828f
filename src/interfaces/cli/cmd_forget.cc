#include <fmt/format.h>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/render.h"
#include "ops/forget.h"
#include "util/time_format.h"
#include "util/utf8.h"

namespace lifeboat::cli {
namespace {

struct ForgetArgs {
  ops::ForgetOptions options;
  std::string within;
  std::string group_by = "host,paths";
  bool prune = false;
  PruneArgs prune_args;
};

int run_forget(Globals& g, ForgetArgs& a) {
  if (!a.within.empty()) {
    auto d = ops::parse_calendar_duration(a.within);
    if (!d.is_ok()) return fail(Status(ErrorCode::kInvalidArgument, "--keep-within: " + d.status().message()));
    a.options.policy.within = *d;
  }
  auto by = ops::parse_group_by(a.group_by);
  if (!by.is_ok()) return fail(by.status());
  a.options.group_by = *by;
  ops::PruneOptions prune_options;
  if (a.prune) {
    Status parsed = apply_prune_args(a.prune_args, prune_options);
    if (!parsed.is_ok()) return fail(parsed);
    prune_options.dry_run = a.options.dry_run;
  }
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  auto r = ops::forget(**repo, a.options, make_context());
  if (!r.is_ok()) return fail(r.status());
  std::optional<ops::PruneResult> pruned;
  if (a.prune && r->errors.empty()) {
    if (a.options.dry_run) prune_options.assume_forgotten = r->removed;
    enable_graceful_interrupt();
    auto ctx = make_context();
    ctx.cancel = &cancel_token();
    auto p = ops::prune(**repo, prune_options, ctx);
    if (!p.is_ok()) return fail(p.status().with_context("the snapshots were forgotten, but prune failed"));
    pruned = std::move(*p);
  }

  if (g.json) {
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& grp : r->groups) {
      nlohmann::json keep = nlohmann::json::array(), remove = nlohmann::json::array(),
                     reasons = nlohmann::json::array();
      for (const auto& d : grp.decisions) {
        (d.keep ? keep : remove).push_back(snapshot_json(d.snapshot));
        reasons.push_back({{"snapshot_id", d.snapshot.id.hex()}, {"keep", d.keep}, {"matches", d.reasons}});
      }
      groups.push_back({{"group", grp.key}, {"keep", keep}, {"remove", remove}, {"reasons", reasons}});
    }
    nlohmann::json removed = nlohmann::json::array();
    for (const auto& id : r->removed) removed.push_back(id.hex());
    fmt::print("{}\n", nlohmann::json{{"message_type", "summary"},
                                      {"dry_run", a.options.dry_run},
                                      {"groups", groups},
                                      {"removed", removed},
                                      {"errors", r->errors},
                                      {"wal_files_removed", r->wal_files_removed},
                                      {"wal_bytes_removed", r->wal_bytes_removed},
                                      {"prune", pruned ? prune_json(*pruned, a.options.dry_run) : nlohmann::json()}}
                           .dump());
  } else if (!g.quiet) {
    for (const auto& grp : r->groups) {
      if (!grp.key.empty()) fmt::print("snapshots of {}:\n", escape_name(grp.key));
      for (const auto& d : grp.decisions) {
        std::string why;
        for (const auto& reason : d.reasons) why += (why.empty() ? "" : ", ") + reason;
        fmt::print("  {:<6}  {}  {:<19}  {}\n", d.keep ? "keep" : "remove", d.snapshot.id.short_hex(),
                   format_local(d.snapshot.time_ns), d.keep ? why : "");
      }
    }
    size_t n = r->removed.size();
    fmt::print("{} {} snapshot{}\n", a.options.dry_run ? "would remove" : "removed", n, n == 1 ? "" : "s");
    if (r->wal_files_removed > 0)
      fmt::print("removed {} archived WAL file{} ({}) that no remaining base backup needs\n", r->wal_files_removed,
                 r->wal_files_removed == 1 ? "" : "s", format_bytes(r->wal_bytes_removed));
    if (pruned) print_prune_result(*pruned, a.options.dry_run);
  }
  for (const auto& e : r->errors) fmt::print(stderr, "lifeboat: error: {}\n", e);
  return r->errors.empty() ? kExitOk : kExitFatal;
}

}  // namespace

void add_forget_command(CLI::App& app, Globals& g) {
  auto a = std::make_shared<ForgetArgs>();
  auto* cmd = app.add_subcommand(
      "forget",
      "Remove snapshots by a retention policy (grouped by host and paths) or by id; the data goes with prune");
  auto& p = a->options.policy;
  auto count = [&](const char* name, int& field, const char* what) {
    cmd->add_option(name, field, fmt::format("Keep the newest snapshot of each of the last N {} (-1: all)", what))
        ->check(CLI::Range(-1, 1'000'000));
  };
  cmd->add_option("-l,--keep-last", p.last, "Keep the N newest snapshots (-1: all)")->check(CLI::Range(-1, 1'000'000));
  count("-H,--keep-hourly", p.hourly, "hours");
  count("-d,--keep-daily", p.daily, "days");
  count("-w,--keep-weekly", p.weekly, "ISO weeks");
  count("-m,--keep-monthly", p.monthly, "months");
  count("-y,--keep-yearly", p.yearly, "years");
  cmd->add_option("--keep-within", a->within,
                  "Keep every snapshot within this duration of the group's newest (e.g. 35d, 1y6m; units y m w d h)");
  cmd->add_option("--keep-tag", p.tags, "Keep every snapshot with this tag (repeatable; \"a,b\" needs both)");
  cmd->add_flag("--utc", p.utc, "Read days, weeks, months and years in UTC instead of local time");
  cmd->add_option("-g,--group-by", a->group_by,
                  "Apply the policy per group of host, paths, tags (comma-separated; \"\" for one group)")
      ->capture_default_str();
  add_filter_options(cmd, a->options.filter);
  cmd->add_flag("-n,--dry-run", a->options.dry_run, "Only show what would be kept and removed, and why");
  cmd->add_flag("--allow-empty", a->options.allow_empty, "Let the policy remove every snapshot of a group");
  cmd->add_flag("--prune", a->prune, "Then run prune, to remove the data only those snapshots referenced");
  add_prune_options(cmd, a->prune_args);
  cmd->add_option("snapshots", a->options.snapshots, "Snapshot ids to forget (instead of a policy)");
  cmd->callback([&g, a] { g.action = [&g, a]() -> int { return run_forget(g, *a); }; });
}

}  // namespace lifeboat::cli
