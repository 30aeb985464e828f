#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "ops/init.h"
#include "util/clock.h"

namespace lifeboat::cli {

void add_init_command(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("init", "Create a new, empty repository");
  cmd->footer(
      "The repository is encrypted with a random master key, wrapped under the password with scrypt\n"
      "(N=2^16, r=8, p=1). Keep the password: without it the data cannot be recovered.\n"
      "With --from-repo, the new repository shares the other's blob-id key and chunker parameters (it has\n"
      "its own encryption keys and password): `lifeboat copy` between the two moves only what one lacks.");
  auto opts = std::make_shared<repo::CreateOptions>();
  auto from = std::make_shared<FromRepoArgs>();
  cmd->add_option("--compression-level", opts->compression_level, fmt::format("zstd level for new data (0 = store raw; default {})", compress::kDefaultLevel))
      ->check(CLI::Range(0, 19));
  cmd->add_option("--lock-days", opts->lock_days,
                  "Retention lock: snapshots younger than N days cannot be forgotten (can only be raised later)")
      ->check(CLI::Range(0u, 36500u));
  add_from_repo_options(cmd, *from);
  cmd->callback([&g, opts, from] {
    g.action = [&g, opts, from]() -> int {
      std::string location = repository_location(g);
      if (location.empty())
        return fail(Status(ErrorCode::kInvalidArgument, "no repository given: use --repo or set LIFEBOAT_REPOSITORY"));
      if (!from->repo.empty() || std::getenv("LIFEBOAT_FROM_REPOSITORY")) {
        auto other = open_from_repository(*from);
        if (!other.is_ok()) return fail(other.status());
        opts->id_key = (*other)->keys().master().id_key;
        opts->chunker = (*other)->config().chunker;
      }
      auto password = read_password(g, true);
      if (!password.is_ok()) return fail(password.status());
      auto r = ops::init(location, *password, *opts, make_context(), SystemClock::instance());
      if (!r.is_ok()) return fail(r.status());
      if (g.json) {
        nlohmann::json j = {{"message_type", "initialized"}, {"id", r->repository_id.hex()},
                            {"repository", r->location}, {"key_id", r->key_id.hex()}};
        fmt::print("{}\n", j.dump());
      } else {
        fmt::print("created lifeboat repository {} at {}\n", r->repository_id.short_hex(), r->location);
        if (!g.quiet) fmt::print("Keep the password safe: without it, the data in the repository is lost.\n");
      }
      return kExitOk;
    };
  });
}

void add_version_command(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("version", "Print the version");
  cmd->callback([&g] {
    g.action = [&g]() -> int {
      if (g.json) fmt::print("{}\n", nlohmann::json{{"version", LIFEBOAT_VERSION}, {"repository_format", 1}}.dump());
      else fmt::print("lifeboat {} (repository format 1)\n", LIFEBOAT_VERSION);
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
