#include <cctype>
#include <chrono>
#include <cstdlib>

#include <fmt/format.h>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/progress.h"
#include "interfaces/cli/render.h"
#include "ops/restore.h"
#include "util/time_format.h"
#include "util/utf8.h"

namespace lifeboat::cli {

namespace {
struct RestoreArgs {
  std::string snapshot;
  std::string at;
  std::string target;
  std::vector<std::string> includes;
  int workers = 0;
  std::string thaw_wait;
  int thaw_days = 2;
  ops::SnapshotFilter filter;
};

// "90s", "15m", "12h", "2d", "1h30m": the time --thaw-wait allows.
Result<int64_t> parse_wait(const std::string& text) {
  auto bad = [&] {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("--thaw-wait \"{}\": give a duration such as 90s, 15m, 12h, 2d or 1h30m", text));
  };
  if (text.empty()) return bad();
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j == i || j == text.size() || j - i > 9) return bad();
    int64_t n = std::stoll(text.substr(i, j - i));
    switch (text[j]) {
      case 's': total += n; break;
      case 'm': total += n * 60; break;
      case 'h': total += n * 3600; break;
      case 'd': total += n * 86400; break;
      default: return bad();
    }
    i = j + 1;
  }
  return total * kNanosPerSecond;
}

int run_restore(Globals& g, const RestoreArgs& a) {
  if (a.snapshot.empty() == a.at.empty())
    return fail(Status(ErrorCode::kInvalidArgument,
                       "give either a SNAPSHOT (id, prefix, \"latest\", time) or --at TIME, not both"));
  if (a.target.empty()) return fail(Status(ErrorCode::kInvalidArgument, "no target: give --target DIR"));
  int64_t thaw_wait = 0;
  if (!a.thaw_wait.empty()) {
    auto w = parse_wait(a.thaw_wait);
    if (!w.is_ok()) return fail(w.status());
    thaw_wait = *w;
  }
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  Result<repo::Snapshot> snap = Status(ErrorCode::kInternal, "unset");
  if (!a.at.empty()) {
    auto t = parse_time(a.at);
    if (!t.is_ok()) return fail(t.status());
    snap = ops::find_snapshot_at(**repo, *t, a.filter);
  } else {
    snap = ops::find_snapshot(**repo, a.snapshot, a.filter);
  }
  if (!snap.is_ok()) return fail(snap.status());
  if (!g.quiet && !g.json)
    fmt::print("restoring snapshot {} of {} from {} to {}\n", snap->id.short_hex(),
               escape_name(snap->paths.empty() ? "" : snap->paths[0]), format_local(snap->time_ns),
               escape_name(a.target));
  enable_graceful_interrupt();
  ops::RestoreOptions o;
  o.target = a.target;
  o.includes = a.includes;
  o.workers = a.workers;
  o.thaw.wait_ns = thaw_wait;
  o.thaw.days = a.thaw_days;
  if (const char* poll = std::getenv("LIFEBOAT_THAW_POLL_SECONDS"); poll && std::atoi(poll) > 0)
    o.thaw.poll_ns = int64_t{std::atoi(poll)} * kNanosPerSecond;
  o.thaw.on_progress = [&g](const ops::ThawProgress& p) {
    if (g.quiet) return;
    if (g.json) {
      fmt::print("{}\n", nlohmann::json{{"message_type", "thaw"},
                                        {"packs_archived", p.needed},
                                        {"packs_requested", p.requested},
                                        {"packs_ready", p.ready}}
                             .dump());
    } else {
      fmt::print("cold storage: {} of {} archived packs this restore needs are readable ({} thaw requests)\n",
                 p.ready, p.needed, p.requested);
    }
  };
  ops::RestoreProgress progress;
  auto start = std::chrono::steady_clock::now();
  ProgressLine line(stdout_is_terminal() && !g.quiet && !g.json, [&](double elapsed) {
    return fmt::format("[{}] {} / {} files, {}", format_clock(elapsed), progress.files_done.load(),
                       progress.files_total.load(), rate_and_eta(progress.bytes_done, progress.bytes_total, true, elapsed));
  });
  auto r = ops::restore(**repo, *snap, o, make_context(), &progress);
  line.stop();
  if (!r.is_ok()) return fail(r.status());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const auto& w : r->warnings) print_warning(w);
  for (const auto& e : r->errors) fmt::print(stderr, "lifeboat: error: {}\n", e);
  if (g.json) {
    fmt::print("{}\n", nlohmann::json{{"message_type", "summary"},
                                      {"snapshot_id", snap->id.hex()},
                                      {"target", escape_name(a.target)},
                                      {"files_restored", r->files},
                                      {"dirs_restored", r->dirs},
                                      {"others_restored", r->others},
                                      {"bytes_restored", r->bytes},
                                      {"errors", r->errors.size()},
                                      {"warnings", r->warnings.size()},
                                      {"total_duration", seconds}}
                           .dump());
  } else {
    fmt::print("restored {} files, {} directories, {} other entries, {} in {}\n", r->files, r->dirs, r->others,
               format_bytes(r->bytes), format_clock(seconds));
  }
  if (!r->errors.empty()) {
    fmt::print(stderr, "lifeboat: error: {} entr{} could not be restored exactly (listed above)\n", r->errors.size(),
               r->errors.size() == 1 ? "y" : "ies");
    return kExitFatal;
  }
  return kExitOk;
}
}  // namespace

void add_restore_command(CLI::App& app, Globals& g) {
  auto a = std::make_shared<RestoreArgs>();
  auto* cmd = app.add_subcommand("restore", "Restore a snapshot, or part of it, into a directory");
  cmd->add_option("snapshot", a->snapshot, "Snapshot id, unique id prefix, \"latest\", or a time (RFC 3339)");
  cmd->add_option("--at", a->at, "Restore the newest snapshot taken at or before this time (\"2024-01-15 14:30:00\")");
  cmd->add_option("-t,--target", a->target, "Directory to restore into (created if missing)")->required();
  cmd->add_option("-i,--include", a->includes,
                  "Restore only this path (\"/home/a/docs\") or glob (\"*.conf\"), with what is below it (repeatable)");
  cmd->add_option("--workers", a->workers, "Worker threads (default: one per CPU)")->check(CLI::Range(0, 256));
  cmd->add_option("--thaw-wait", a->thaw_wait,
                  "Packs in an archive storage class (GLACIER, DEEP_ARCHIVE): wait this long for the store to thaw "
                  "them (90s, 15m, 12h, 2d); without it, restore asks for the thaw and stops with exit code 13");
  cmd->add_option("--thaw-days", a->thaw_days, "Keep thawed packs readable this many days (default 2)")
      ->check(CLI::Range(1, 365));
  add_filter_options(cmd, a->filter);
  cmd->footer(
      "Entries are restored under TARGET with their full snapshot path (TARGET/home/a/...), with owner\n"
      "(as root), permissions, times, extended attributes, ACLs, hard links and sparse holes.\n"
      "Every blob is authenticated before it is written; a damaged one fails the file and exit code 1.\n"
      "Data packs in an archive storage class are thawed first, only those this restore reads; nothing\n"
      "is written until they are readable (LIFEBOAT_THAW_POLL_SECONDS: how often to look, default 60).");
  cmd->callback([&g, a] { g.action = [&g, a] { return run_restore(g, *a); }; });
}

}  // namespace lifeboat::cli
