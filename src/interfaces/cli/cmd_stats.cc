#include <fmt/format.h>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/render.h"
#include "ops/stats.h"
#include "util/time_format.h"

namespace lifeboat::cli {

void add_stats_command(CLI::App& app, Globals& g) {
  auto filter = std::make_shared<ops::SnapshotFilter>();
  auto* cmd = app.add_subcommand("stats", "Show how much the snapshots hold and how the repository stores it");
  add_filter_options(cmd, *filter);
  cmd->callback([&g, filter] {
    g.action = [&g, filter]() -> int {
      auto repo = open_repository(g);
      if (!repo.is_ok()) return fail(repo.status());
      auto r = ops::stats(**repo, *filter);
      if (!r.is_ok()) return fail(r.status());
      double compression = r->repo_size ? static_cast<double>(r->repo_raw_size) / static_cast<double>(r->repo_size) : 0;
      double dedup = r->unique_raw_size ? static_cast<double>(r->total_size) / static_cast<double>(r->unique_raw_size) : 0;
      if (g.json) {
        fmt::print("{}\n", nlohmann::json{{"snapshots_count", r->snapshots},
                                          {"total_file_count", r->total_files},
                                          {"total_size", r->total_size},
                                          {"unique_blob_count", r->unique_blobs},
                                          {"unique_raw_size", r->unique_raw_size},
                                          {"unique_stored_size", r->unique_stored_size},
                                          {"tree_blob_count", r->tree_blobs},
                                          {"repository_pack_count", r->repo_packs},
                                          {"repository_size", r->repo_size},
                                          {"repository_blob_count", r->repo_blobs},
                                          {"repository_raw_size", r->repo_raw_size},
                                          {"compression_ratio", compression},
                                          {"dedup_ratio", dedup}}
                               .dump());
        return kExitOk;
      }
      fmt::print("Snapshots:              {}\n", r->snapshots);
      fmt::print("Files in snapshots:     {} ({} if every snapshot were restored)\n", r->total_files,
                 format_bytes(r->total_size));
      fmt::print("Unique data:            {} in {} blobs ({} stored)\n", format_bytes(r->unique_raw_size),
                 r->unique_blobs, format_bytes(r->unique_stored_size));
      fmt::print("Deduplication:          {:.2f}x\n", dedup);
      fmt::print("Repository:             {} in {} packs, {} blobs ({} uncompressed)\n", format_bytes(r->repo_size),
                 r->repo_packs, r->repo_blobs, format_bytes(r->repo_raw_size));
      fmt::print("Compression:            {:.2f}x\n", compression);
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
