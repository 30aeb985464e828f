#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/render.h"
#include "ops/copy.h"
#include "util/time_format.h"

namespace lifeboat::cli {
namespace {

struct CopyArgs {
  FromRepoArgs from;
  ops::CopyOptions options;
};

int run_copy(Globals& g, CopyArgs& a) {
  auto source = open_from_repository(a.from);
  if (!source.is_ok()) return fail(source.status());
  auto dest = open_repository(g);
  if (!dest.is_ok()) return fail(dest.status());
  enable_graceful_interrupt();
  auto ctx = make_context();
  ctx.cancel = &cancel_token();
  auto r = ops::copy(**source, **dest, a.options, ctx);
  if (!r.is_ok()) return fail(r.status());
  if (g.json) {
    nlohmann::json copied = nlohmann::json::array(), there = nlohmann::json::array();
    for (const auto& c : r->copied)
      copied.push_back({{"source", c.source.hex()}, {"copy", a.options.dry_run ? "" : c.copy.hex()}});
    for (const auto& id : r->already_there) there.push_back(id.hex());
    fmt::print("{}\n", nlohmann::json{{"message_type", "summary"},
                                      {"dry_run", a.options.dry_run},
                                      {"related", r->related},
                                      {"copied", copied},
                                      {"already_there", there},
                                      {"blobs_copied", r->blobs_copied},
                                      {"blobs_present", r->blobs_present},
                                      {"bytes_read", r->bytes_read},
                                      {"bytes_added", r->bytes_added},
                                      {"wal_files_copied", r->wal_files_copied},
                                      {"wal_bytes_copied", r->wal_bytes_copied}}
                           .dump());
    return kExitOk;
  }
  if (g.quiet) return kExitOk;
  for (const auto& c : r->copied) {
    if (a.options.dry_run) fmt::print("would copy snapshot {}\n", c.source.short_hex());
    else fmt::print("snapshot {} copied as {}\n", c.source.short_hex(), c.copy.short_hex());
  }
  fmt::print("{} {} snapshot{}, {} already there", a.options.dry_run ? "would copy" : "copied", r->copied.size(),
             r->copied.size() == 1 ? "" : "s", r->already_there.size());
  if (!a.options.dry_run)
    fmt::print("; {} blobs stored ({} added), {} present already{}", r->blobs_copied, format_bytes(r->bytes_added),
               r->blobs_present,
               r->related ? "" : " (unrelated repositories: files were read and cut again with this repository's "
                                 "chunker; `init --from-repo` makes related ones)");
  fmt::print("\n");
  if (r->wal_files_copied)
    fmt::print("{} {} WAL file{} ({}) of the PostgreSQL clusters' archives\n",
               a.options.dry_run ? "would copy" : "copied", r->wal_files_copied,
               r->wal_files_copied == 1 ? "" : "s", format_bytes(r->wal_bytes_copied));
  return kExitOk;
}

}  // namespace

void add_copy_command(CLI::App& app, Globals& g) {
  auto a = std::make_shared<CopyArgs>();
  auto* cmd = app.add_subcommand(
      "copy", "Copy snapshots from another repository (--from-repo) into this one, moving only what it lacks");
  add_from_repo_options(cmd, a->from);
  add_filter_options(cmd, a->options.filter);
  cmd->add_flag("-n,--dry-run", a->options.dry_run, "Only tell which snapshots would be copied");
  cmd->add_option("snapshots", a->options.snapshots, "Snapshots to copy (ids, prefixes, latest; default: all)");
  cmd->footer(
      "Running copy again copies nothing: each copy records the snapshot it came from.\n"
      "When the snapshots include PostgreSQL base backups, the WAL archive of their clusters comes along (the\n"
      "files the destination lacks), so the copy can recover to a point in time; run copy after new WAL has\n"
      "been archived to bring it up to date.");
  cmd->callback([&g, a] { g.action = [&g, a]() -> int { return run_copy(g, *a); }; });
}

}  // namespace lifeboat::cli
