// wal-push and wal-fetch: PostgreSQL's archive_command and restore_command.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "ops/wal.h"
#include "util/time_format.h"

namespace lifeboat::cli {

namespace {

struct WalArgs {
  std::string path;
  std::string name;
  std::string dest;
  std::string system_id;
  std::string pgdata = ".";
  int level = 3;
};

// restore_command's contract: a non-zero exit means "not in the archive"
// and ends recovery there, unless the code is above 125, which stops
// recovery. So a damaged or unreadable archive must not answer 1.
constexpr int kExitWalFetchFailed = 254;

Result<std::optional<uint64_t>> parse_system_id(const std::string& text) {
  if (text.empty()) return std::optional<uint64_t>();
  char* end = nullptr;
  errno = 0;
  uint64_t v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || !end || *end != '\0' || text[0] == '-')
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("--system-id \"{}\" is not a number: give the decimal identifier pg_controldata "
                              "prints as \"Database system identifier\"", text));
  return std::optional<uint64_t>(v);
}

}  // namespace

void add_wal_commands(CLI::App& app, Globals& g) {
  auto a = std::make_shared<WalArgs>();
  auto* push = app.add_subcommand("wal-push", "Archive one WAL file (PostgreSQL's archive_command)");
  push->add_option("path", a->path, "The file to archive (%p)")->required();
  push->add_option("--system-id", a->system_id, "The cluster's system identifier (default: from the segment, or "
                                                "from the data directory's pg_control)");
  push->add_option("--pgdata", a->pgdata, "The data directory (default: the working directory, as for "
                                          "archive_command)");
  push->add_option("--compression-level", a->level, "zstd level for WAL (default 3)")->check(CLI::Range(1, 19));
  push->footer(
      "In postgresql.conf:\n"
      "  archive_mode = on\n"
      "  archive_command = 'lifeboat --repo REPO --password-file FILE wal-push %p'\n"
      "The key is cached (0600, in the cache directory) after the first call, so later calls skip the key\n"
      "derivation; LIFEBOAT_KEY_CACHE=0 turns that off. Pushing the same file twice succeeds; a different file\n"
      "under an archived name is refused (exit 1).");
  push->callback([&g, a] {
    g.action = [&g, a]() -> int {
      ops::WalPushOptions o;
      o.path = a->path;
      o.pgdata = a->pgdata;
      o.compression_level = a->level;
      auto id = parse_system_id(a->system_id);
      if (!id.is_ok()) return fail(id.status());
      o.system_id = *id;
      auto repo = open_repository_with_key_cache(g);
      if (!repo.is_ok()) return fail(repo.status());
      auto r = ops::wal_push(**repo, o);
      if (!r.is_ok()) return fail(r.status().with_context("wal-push " + a->path));
      if (g.json) {
        fmt::print("{}\n", nlohmann::json{{"message_type", "wal_push"},
                                          {"name", r->name},
                                          {"system_id", std::to_string(r->system_id)},
                                          {"size", r->size},
                                          {"stored", r->stored},
                                          {"already_archived", r->already}}
                               .dump());
      } else if (g.verbose > 0) {
        fmt::print(stderr, "lifeboat: {} {}\n", r->name,
                   r->already ? "was already archived" : fmt::format("archived ({})", format_bytes(r->stored)));
      }
      return kExitOk;
    };
  });

  auto* fetch = app.add_subcommand("wal-fetch", "Fetch one archived WAL file (PostgreSQL's restore_command)");
  fetch->add_option("name", a->name, "The file's name (%f)")->required();
  fetch->add_option("dest", a->dest, "Where to write it (%p)")->required();
  fetch->add_option("--system-id", a->system_id, "The cluster's system identifier (default: from the data "
                                                 "directory's pg_control)");
  fetch->add_option("--pgdata", a->pgdata, "The data directory (default: the working directory, as for "
                                           "restore_command)");
  fetch->footer(
      "In postgresql.conf (lifeboat pg restore writes this):\n"
      "  restore_command = 'lifeboat --repo REPO --password-file FILE wal-fetch %f %p'\n"
      "Exit codes: 0 fetched; 1 not in the archive (PostgreSQL's normal end of the archive);\n"
      "254 the file is damaged or the repository unreadable (PostgreSQL stops recovery rather than\n"
      "ending it early at the wrong point).");
  fetch->callback([&g, a] {
    g.action = [&g, a]() -> int {
      ops::WalFetchOptions o;
      o.name = a->name;
      o.dest = a->dest;
      o.pgdata = a->pgdata;
      auto id = parse_system_id(a->system_id);
      if (!id.is_ok()) return fail(id.status());
      o.system_id = *id;
      auto repo = open_repository_with_key_cache(g);
      if (!repo.is_ok()) {
        fail(repo.status());
        return kExitWalFetchFailed;
      }
      Status s = ops::wal_fetch(**repo, o);
      if (s.code() == ErrorCode::kNotFound) {
        if (g.verbose > 0) fmt::print(stderr, "lifeboat: {}\n", s.message());
        return kExitFatal;
      }
      if (!s.is_ok()) {
        fail(s.with_context("wal-fetch " + a->name));
        return kExitWalFetchFailed;
      }
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
