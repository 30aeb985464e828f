#include <fmt/format.h>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/render.h"
#include "ops/diff.h"
#include "util/time_format.h"
#include "util/utf8.h"

namespace lifeboat::cli {

namespace {
struct DiffArgs {
  std::string a, b;
  bool metadata = false;
};
}  // namespace

void add_diff_command(CLI::App& app, Globals& g) {
  auto a = std::make_shared<DiffArgs>();
  auto* cmd = app.add_subcommand("diff", "Show what changed between two snapshots");
  cmd->add_option("snapshot_a", a->a, "The older snapshot")->required();
  cmd->add_option("snapshot_b", a->b, "The newer snapshot")->required();
  cmd->add_flag("--metadata", a->metadata, "Also list entries whose metadata only changed (U)");
  cmd->footer("+ added, - removed, M content modified, T type changed, U metadata changed (with --metadata)");
  cmd->callback([&g, a] {
    g.action = [&g, a]() -> int {
      auto repo = open_repository(g);
      if (!repo.is_ok()) return fail(repo.status());
      if (Status s = (*repo)->load_index(); !s.is_ok()) return fail(s);
      auto sa = ops::find_snapshot(**repo, a->a);
      if (!sa.is_ok()) return fail(sa.status());
      auto sb = ops::find_snapshot(**repo, a->b);
      if (!sb.is_ok()) return fail(sb.status());
      auto stats = ops::diff(**repo, *sa, *sb,
                             [&](ops::Change c, const std::string& path, const repo::Node*, const repo::Node* after) {
                               if (c == ops::Change::kMetadata && !a->metadata) return;
                               std::string shown = escape_name(path);
                               if (after && after->type == repo::NodeType::kDir) shown += "/";
                               if (g.json)
                                 fmt::print("{}\n", nlohmann::json{{"message_type", "change"},
                                                                   {"modifier", std::string(1, static_cast<char>(c))},
                                                                   {"path", shown}}
                                                        .dump());
                               else
                                 fmt::print("{}    {}\n", static_cast<char>(c), shown);
                             });
      if (!stats.is_ok()) return fail(stats.status());
      if (g.json) {
        fmt::print("{}\n", nlohmann::json{{"message_type", "statistics"},
                                          {"source_snapshot", sa->id.hex()},
                                          {"target_snapshot", sb->id.hex()},
                                          {"added", stats->added},
                                          {"removed", stats->removed},
                                          {"modified", stats->modified},
                                          {"metadata_changed", stats->metadata},
                                          {"type_changed", stats->type_changed},
                                          {"added_bytes", stats->added_bytes},
                                          {"removed_bytes", stats->removed_bytes}}
                               .dump());
      } else if (!g.quiet) {
        fmt::print("\n{} added ({}), {} removed ({}), {} modified, {} type changed, {} metadata changed\n",
                   stats->added, format_bytes(stats->added_bytes), stats->removed, format_bytes(stats->removed_bytes),
                   stats->modified, stats->type_changed, stats->metadata);
      }
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
