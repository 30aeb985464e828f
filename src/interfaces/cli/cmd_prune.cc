#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "ops/prune.h"
#include "util/size.h"
#include "util/time_format.h"

namespace lifeboat::cli {

void add_prune_options(CLI::App* cmd, PruneArgs& a) {
  cmd->add_option("--max-unused", a.max_unused,
                  "Unused space to tolerate in the packs that are kept: a share (5%), a size (500M) or \"unlimited\"; "
                  "packs with the most unused space are repacked until it holds")
      ->capture_default_str();
  cmd->add_option("--max-repack-size", a.max_repack_size, "Repack at most this much (e.g. 2G) in one run");
}

Status apply_prune_args(const PruneArgs& a, ops::PruneOptions& o) {
  const std::string& u = a.max_unused;
  if (u == "unlimited") {
    o.max_unused_fraction = 1.0;
  } else if (!u.empty() && u.back() == '%') {
    std::string number = u.substr(0, u.size() - 1);
    char* end = nullptr;
    double pct = std::strtod(number.c_str(), &end);
    if (number.empty() || end != number.c_str() + number.size() || !(pct >= 0) || pct > 100)
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("--max-unused \"{}\": give a percentage from 0% to 100%, a size such as 500M, or "
                                "\"unlimited\"",
                                u));
    o.max_unused_fraction = pct / 100.0;
  } else {
    auto bytes = parse_size(u);
    if (!bytes.is_ok())
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("--max-unused \"{}\": give a percentage such as 5%, a size such as 500M, or "
                                "\"unlimited\"",
                                u));
    o.max_unused_bytes = *bytes;
  }
  if (!a.max_repack_size.empty()) {
    auto bytes = parse_size(a.max_repack_size);
    if (!bytes.is_ok()) return Status(ErrorCode::kInvalidArgument, "--max-repack-size: " + bytes.status().message());
    o.max_repack_bytes = *bytes;
  }
  return Status::ok();
}

nlohmann::json prune_json(const ops::PruneResult& r, bool dry_run) {
  return {{"dry_run", dry_run},
          {"snapshots", r.snapshots},
          {"packs", r.packs},
          {"pack_bytes", r.pack_bytes},
          {"used_blobs", r.used_blobs},
          {"used_bytes", r.used_bytes},
          {"unused_blobs", r.unused_blobs},
          {"unused_bytes", r.unused_bytes},
          {"duplicate_blobs", r.duplicate_blobs},
          {"unindexed_packs", r.unindexed_packs},
          {"packs_unused", r.packs_unused},
          {"packs_repacked", r.packs_repacked},
          {"blobs_repacked", r.blobs_repacked},
          {"bytes_repacked", r.bytes_repacked},
          {"packs_written", r.packs_written},
          {"bytes_written", r.bytes_written},
          {"bytes_condemned", r.bytes_condemned},
          {"unused_bytes_after", r.unused_bytes_after},
          {"index_files_replaced", r.index_files_replaced},
          {"packs_deleted", r.packs_deleted},
          {"bytes_deleted", r.bytes_deleted},
          {"blobs_rescued", r.blobs_rescued},
          {"packs_waiting", r.packs_waiting},
          {"bytes_waiting", r.bytes_waiting},
          {"waiting_for", r.waiting_for},
          {"notes", r.notes}};
}

void print_prune_result(const ops::PruneResult& r, bool dry_run) {
  auto pct = [](uint64_t part, uint64_t whole) {
    return whole ? fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole)) : "0%";
  };
  fmt::print("repository: {} snapshots, {} packs, {}\n", r.snapshots, r.packs, format_bytes(r.pack_bytes));
  fmt::print("  used:   {} blobs, {}\n", r.used_blobs, format_bytes(r.used_bytes));
  fmt::print("  unused: {} blobs, {} ({} duplicates)\n", r.unused_blobs, format_bytes(r.unused_bytes),
             r.duplicate_blobs);
  if (r.packs_unused + r.packs_repacked == 0) {
    fmt::print("nothing to remove: unused space is within the limit\n");
  } else {
    fmt::print("{}: {} wholly unused pack{}; {} pack{} repacked ({} blobs still in use, {} read{})\n",
               dry_run ? "would remove" : "removing", r.packs_unused, r.packs_unused == 1 ? "" : "s",
               r.packs_repacked, r.packs_repacked == 1 ? "" : "s", r.blobs_repacked, format_bytes(r.bytes_repacked),
               dry_run ? "" : fmt::format(", {} written", format_bytes(r.bytes_written)));
    uint64_t net = r.bytes_condemned > r.bytes_written ? r.bytes_condemned - r.bytes_written : 0;
    fmt::print("{} {} ({} of packs go{}); unused afterwards: {} ({} of the used data)\n",
               dry_run ? "would free" : "frees", format_bytes(dry_run ? r.bytes_condemned : net),
               format_bytes(r.bytes_condemned), dry_run ? ", less the repacked blobs" :
               fmt::format(", {} of new packs come", format_bytes(r.bytes_written)),
               format_bytes(r.unused_bytes_after), pct(r.unused_bytes_after, r.used_bytes));
  }
  if (r.packs_deleted || r.blobs_rescued)
    fmt::print("{} {} pack{} ({}){}\n", dry_run ? "would delete now:" : "deleted now:", r.packs_deleted,
               r.packs_deleted == 1 ? "" : "s", format_bytes(r.bytes_deleted),
               r.blobs_rescued ? fmt::format(", kept {} blobs that newer snapshots reference", r.blobs_rescued) : "");
  if (r.packs_waiting) {
    fmt::print("{} condemned pack{} ({}) wait for operations that were running to end; the next prune deletes them\n",
               r.packs_waiting, r.packs_waiting == 1 ? "" : "s", format_bytes(r.bytes_waiting));
    for (const auto& w : r.waiting_for) fmt::print("  waiting for {}\n", w);
  }
  if (r.unindexed_packs)
    fmt::print("{} pack{} not in the index left alone (a running or interrupted backup's)\n", r.unindexed_packs,
               r.unindexed_packs == 1 ? "" : "s");
  for (const auto& n : r.notes) fmt::print("note: {}\n", n);
}

namespace {

struct PruneCmdArgs {
  PruneArgs prune;
  bool dry_run = false;
};

int run_prune(Globals& g, PruneCmdArgs& a) {
  ops::PruneOptions options;
  options.dry_run = a.dry_run;
  Status parsed = apply_prune_args(a.prune, options);
  if (!parsed.is_ok()) return fail(parsed);
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  enable_graceful_interrupt();
  auto ctx = make_context();
  ctx.cancel = &cancel_token();
  auto r = ops::prune(**repo, options, ctx);
  if (!r.is_ok()) return fail(r.status());
  if (g.json) {
    auto j = prune_json(*r, a.dry_run);
    j["message_type"] = "summary";
    fmt::print("{}\n", j.dump());
  } else if (!g.quiet) {
    print_prune_result(*r, a.dry_run);
  }
  return kExitOk;
}

}  // namespace

void add_prune_command(CLI::App& app, Globals& g) {
  auto a = std::make_shared<PruneCmdArgs>();
  auto* cmd = app.add_subcommand(
      "prune",
      "Remove data that no snapshot references and repack mostly unused packs; backups may run meanwhile");
  add_prune_options(cmd, a->prune);
  cmd->add_flag("-n,--dry-run", a->dry_run, "Only tell what would be removed and repacked");
  cmd->callback([&g, a] { g.action = [&g, a]() -> int { return run_prune(g, *a); }; });
}

}  // namespace lifeboat::cli
