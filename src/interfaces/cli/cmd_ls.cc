#include <fmt/format.h>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/render.h"
#include "ops/ls.h"
#include "util/utf8.h"

namespace lifeboat::cli {

namespace {
struct LsArgs {
  std::string snapshot;
  std::string path = "/";
  bool long_format = false;
  bool non_recursive = false;
  ops::SnapshotFilter filter;
};
}  // namespace

void add_ls_command(CLI::App& app, Globals& g) {
  auto a = std::make_shared<LsArgs>();
  auto* cmd = app.add_subcommand("ls", "List the files in a snapshot");
  cmd->add_option("snapshot", a->snapshot, "Snapshot id, id prefix, \"latest\" or a time")->required();
  cmd->add_option("path", a->path, "List only this path and what is below it");
  cmd->add_flag("-l,--long", a->long_format, "Show mode, owner, size and mtime");
  cmd->add_flag("--non-recursive", a->non_recursive, "Only the path and its direct children");
  add_filter_options(cmd, a->filter);
  cmd->callback([&g, a] {
    g.action = [&g, a]() -> int {
      auto repo = open_repository(g);
      if (!repo.is_ok()) return fail(repo.status());
      if (Status s = (*repo)->load_index(); !s.is_ok()) return fail(s);
      auto snap = ops::find_snapshot(**repo, a->snapshot, a->filter);
      if (!snap.is_ok()) return fail(snap.status());
      if (g.json) fmt::print("{}\n", nlohmann::json{{"message_type", "snapshot"}, {"snapshot", snapshot_json(*snap)}}.dump());
      ops::LsOptions o;
      o.path = a->path;
      o.recursive = !a->non_recursive;
      Status s = ops::ls(**repo, *snap, o, [&](const std::string& path, const repo::Node& n) {
        if (g.json) {
          auto j = node_json(path, n);
          j["message_type"] = "node";
          fmt::print("{}\n", j.dump());
        } else if (a->long_format) {
          fmt::print("{}\n", node_long_line(path, n));
        } else {
          fmt::print("{}\n", escape_name(path));
        }
      });
      if (!s.is_ok()) return fail(s);
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
