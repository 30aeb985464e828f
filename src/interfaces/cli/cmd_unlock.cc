#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "repo/lock.h"
#include "util/time_format.h"

namespace lifeboat::cli {

void add_unlock_command(CLI::App& app, Globals& g) {
  auto remove_all = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("unlock", "Remove stale locks (left by processes that died)");
  cmd->add_flag("--remove-all", *remove_all, "Remove every lock, also live ones (only when nothing else runs)");
  cmd->callback([&g, remove_all] {
    g.action = [&g, remove_all]() -> int {
      auto repo = open_repository(g);
      if (!repo.is_ok()) return fail(repo.status());
      auto ctx = make_context();
      auto locks = repo::list_locks(**repo, ctx.hostname);
      if (!locks.is_ok()) return fail(locks.status());
      int removed = 0, kept = 0;
      for (const auto& l : *locks) {
        if (!*remove_all && !l.stale && l.readable) {
          kept++;
          continue;
        }
        Status s = (*repo)->remove("locks/" + l.id.hex());
        if (!s.is_ok() && s.code() != ErrorCode::kNotFound) return fail(s);
        removed++;
      }
      if (g.json)
        fmt::print("{}\n", nlohmann::json{{"message_type", "summary"}, {"removed", removed}, {"kept", kept}}.dump());
      else if (!g.quiet) fmt::print("removed {} lock{}, kept {} live lock{}\n", removed, removed == 1 ? "" : "s", kept,
                               kept == 1 ? "" : "s");
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
