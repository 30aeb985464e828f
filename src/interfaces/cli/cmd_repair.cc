#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "ops/repair.h"

namespace lifeboat::cli {

void add_repair_command(CLI::App& app, Globals& g) {
  auto* repair = app.add_subcommand("repair", "Rebuild repository metadata from what the packs hold");
  repair->require_subcommand(1);
  auto opts = std::make_shared<ops::RepairIndexOptions>();
  auto* index = repair->add_subcommand(
      "index", "Rebuild the index from the pack headers (after lost or damaged index files), then remove the old one");
  index->add_flag("-n,--dry-run", opts->dry_run, "Only read the packs and tell what would be written");
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
      if (g.json) {
        fmt::print("{}\n", nlohmann::json{{"message_type", "summary"},
                                          {"dry_run", opts->dry_run},
                                          {"packs_indexed", r->packs_indexed},
                                          {"blobs_indexed", r->blobs_indexed},
                                          {"index_files_written", r->index_files_written},
                                          {"index_files_removed", r->index_files_removed},
                                          {"damaged_packs", r->damaged_packs}}
                               .dump());
      } else {
        fmt::print("{} {} packs ({} blobs) into {} index file{}, {} {} old index file{}\n",
                   opts->dry_run ? "would index" : "indexed", r->packs_indexed, r->blobs_indexed,
                   r->index_files_written, r->index_files_written == 1 ? "" : "s",
                   opts->dry_run ? "would replace" : "replaced", r->index_files_removed,
                   r->index_files_removed == 1 ? "" : "s");
        if (!r->damaged_packs.empty())
          fmt::print("{} damaged pack{} left out: run `lifeboat check --read-data` to see which files they held\n",
                     r->damaged_packs.size(), r->damaged_packs.size() == 1 ? "" : "s");
      }
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
