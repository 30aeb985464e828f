#include <fmt/format.h>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/render.h"
#include "ops/find.h"
#include "util/time_format.h"
#include "util/utf8.h"

namespace lifeboat::cli {

void add_find_command(CLI::App& app, Globals& g) {
  auto o = std::make_shared<ops::FindOptions>();
  auto* cmd = app.add_subcommand("find", "Find files and directories in snapshots by name or path");
  cmd->add_option("pattern", o->pattern, "Glob matched against names (against full paths if it contains '/')")
      ->required();
  cmd->add_option("-s,--snapshot", o->snapshots, "Search only this snapshot (repeatable)");
  cmd->add_flag("-i,--ignore-case", o->ignore_case, "Match case-insensitively");
  add_filter_options(cmd, o->filter);
  cmd->callback([&g, o] {
    g.action = [&g, o]() -> int {
      auto repo = open_repository(g);
      if (!repo.is_ok()) return fail(repo.status());
      if (Status s = (*repo)->load_index(); !s.is_ok()) return fail(s);
      nlohmann::json all = nlohmann::json::array();
      uint64_t count = 0;
      Status s = ops::find(**repo, *o, [&](const repo::Snapshot& snap, const std::string& path, const repo::Node& n) {
        count++;
        if (g.json) {
          auto j = node_json(path, n);
          j["snapshot"] = snap.id.hex();
          j["snapshot_time"] = format_rfc3339(snap.time_ns);
          all.push_back(j);
        } else {
          fmt::print("{}  {}  {}\n", snap.id.short_hex(), format_local(snap.time_ns), node_long_line(path, n));
        }
      });
      if (!s.is_ok()) return fail(s);
      if (g.json) fmt::print("{}\n", all.dump());
      else if (!g.quiet) fmt::print("{} match{}\n", count, count == 1 ? "" : "es");
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
