#include <fmt/format.h>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/render.h"
#include "util/time_format.h"
#include "util/utf8.h"

namespace lifeboat::cli {

void add_snapshots_command(CLI::App& app, Globals& g) {
  auto filter = std::make_shared<ops::SnapshotFilter>();
  auto* cmd = app.add_subcommand("snapshots", "List snapshots");
  add_filter_options(cmd, *filter);
  cmd->callback([&g, filter] {
    g.action = [&g, filter]() -> int {
      auto repo = open_repository(g);
      if (!repo.is_ok()) return fail(repo.status());
      auto snaps = ops::list_snapshots(**repo, *filter);
      if (!snaps.is_ok()) return fail(snaps.status());
      if (g.json) {
        nlohmann::json a = nlohmann::json::array();
        for (const auto& s : *snaps) a.push_back(snapshot_json(s));
        fmt::print("{}\n", a.dump());
        return kExitOk;
      }
      fmt::print("{:<8}  {:<19}  {:<16}  {:<16}  {:>10}  {}\n", "ID", "Time", "Host", "Tags", "Size", "Paths");
      fmt::print("{}\n", std::string(96, '-'));
      for (const auto& s : *snaps) {
        std::string tags;
        for (const auto& t : s.tags) tags += (tags.empty() ? "" : ",") + escape_name(t);
        std::string paths;
        for (const auto& p : s.paths) paths += (paths.empty() ? "" : " ") + escape_name(p);
        fmt::print("{:<8}  {:<19}  {:<16}  {:<16}  {:>10}  {}\n", s.id.short_hex(), format_local(s.time_ns),
                   escape_name(s.hostname), tags, format_bytes(s.summary.total_bytes_processed), paths);
      }
      fmt::print("{}\n{} snapshot{}\n", std::string(96, '-'), snaps->size(), snaps->size() == 1 ? "" : "s");
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
