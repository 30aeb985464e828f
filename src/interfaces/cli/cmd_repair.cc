#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "ops/repair.h"
#include "util/utf8.h"

namespace lifeboat::cli {

void add_repair_command(CLI::App& app, Globals& g) {
  auto* repair = app.add_subcommand("repair", "Rebuild repository metadata from what the packs hold");
  repair->require_subcommand(1);
  auto opts = std::make_shared<ops::RepairIndexOptions>();
  auto* index = repair->add_subcommand(
      "index", "Rebuild the index from the pack headers (after lost or damaged index files), then remove the old one");
  index->add_flag("-n,--dry-run", opts->dry_run, "Only read the packs and tell what would be written");
  index->add_flag("--read-data", opts->read_data,
                  "Read and verify every blob, and leave damaged ones out of the index (then `repair snapshots` "
                  "treats them as lost)");
  index->callback([&g, opts] {
    g.action = [&g, opts]() -> int {
      auto repo = open_repository(g);
      if (!repo.is_ok()) return fail(repo.status());
      enable_graceful_interrupt();
      auto ctx = make_context();
      ctx.cancel = &cancel_token();
      auto r = ops::repair_index(**repo, *opts, ctx);
      if (!r.is_ok()) return fail(r.status());
      for (const auto& d : r->damaged_packs) print_warning(d + " (left out; its blobs are lost)");
      for (const auto& d : r->damaged_blobs) print_warning(d + " (left out of the index)");
      if (g.json) {
        fmt::print("{}\n", nlohmann::json{{"message_type", "summary"},
                                          {"dry_run", opts->dry_run},
                                          {"packs_indexed", r->packs_indexed},
                                          {"blobs_indexed", r->blobs_indexed},
                                          {"index_files_written", r->index_files_written},
                                          {"index_files_removed", r->index_files_removed},
                                          {"damaged_packs", r->damaged_packs},
                                          {"damaged_blobs", r->damaged_blobs}}
                               .dump());
      } else {
        fmt::print("{} {} packs ({} blobs) into {} index file{}, {} {} old index file{}\n",
                   opts->dry_run ? "would index" : "indexed", r->packs_indexed, r->blobs_indexed,
                   r->index_files_written, r->index_files_written == 1 ? "" : "s",
                   opts->dry_run ? "would replace" : "replaced", r->index_files_removed,
                   r->index_files_removed == 1 ? "" : "s");
        if (!r->damaged_blobs.empty())
          fmt::print("{} damaged blob{} left out: run `lifeboat repair snapshots` so that what is left restores\n",
                     r->damaged_blobs.size(), r->damaged_blobs.size() == 1 ? "" : "s");
        if (!r->damaged_packs.empty())
          fmt::print("{} damaged pack{} left out: run `lifeboat check --read-data` to see which files they held\n",
                     r->damaged_packs.size(), r->damaged_packs.size() == 1 ? "" : "s");
      }
      return kExitOk;
    };
  });

  auto sopts = std::make_shared<ops::RepairSnapshotsOptions>();
  auto* snaps = repair->add_subcommand(
      "snapshots",
      "Rewrite snapshots that reference lost data so that what is left restores (run `repair index` first)");
  snaps->add_flag("-n,--dry-run", sopts->dry_run, "Only tell which snapshots would be rewritten and what is lost");
  snaps->add_flag("--forget", sopts->forget, "Remove each original snapshot once its repaired copy is stored");
  snaps->callback([&g, sopts] {
    g.action = [&g, sopts]() -> int {
      auto repo = open_repository(g);
      if (!repo.is_ok()) return fail(repo.status());
      auto r = ops::repair_snapshots(**repo, *sopts, make_context());
      if (!r.is_ok()) return fail(r.status());
      if (g.json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& x : r->repaired)
          list.push_back({{"original", x.original.hex()},
                          {"repaired", x.repaired ? x.repaired->hex() : ""},
                          {"lost", x.lost}});
        fmt::print("{}\n", nlohmann::json{{"message_type", "summary"},
                                          {"dry_run", sopts->dry_run},
                                          {"snapshots_checked", r->snapshots_checked},
                                          {"repaired", list}}
                               .dump());
        return kExitOk;
      }
      for (const auto& x : r->repaired) {
        if (x.repaired)
          fmt::print("snapshot {} -> {} (tag \"repaired\"{}):\n", x.original.short_hex(), x.repaired->short_hex(),
                     sopts->forget ? ", original removed" : "");
        else
          fmt::print("snapshot {} would be rewritten:\n", x.original.short_hex());
        for (const auto& l : x.lost) fmt::print("  lost: {}\n", escape_name(l));
      }
      fmt::print("{} of {} snapshots {}\n", r->repaired.size(), r->snapshots_checked,
                 sopts->dry_run ? "need repair" : "repaired");
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
