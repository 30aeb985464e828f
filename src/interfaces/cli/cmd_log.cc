#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "repo/audit.h"
#include "util/posix_error.h"
#include "util/time_format.h"
#include "util/utf8.h"

namespace lifeboat::cli {
namespace {

struct LogArgs {
  bool verify = false;
  size_t last = 0;
};

// The newest record this machine has verified, kept beside the files cache:
// removing the newest records is invisible in the repository itself.
std::string head_file(const Globals& g, const repo::Repository& repo) {
  std::string root = cache_root(g);
  return root.empty() ? "" : root + "/" + repo.config().id.hex() + "/audit-head";
}

int run_log(Globals& g, const LogArgs& a) {
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  auto log = repo::load_audit(**repo);
  if (!log.is_ok()) return fail(log.status());
  std::vector<std::string> problems = log->problems;
  std::string head_path = a.verify ? head_file(g, **repo) : "";
  if (!head_path.empty()) {
    std::ifstream in(head_path);
    std::string known;
    if (in >> known) {
      bool present = false;
      for (const auto& r : log->records) present = present || r.id.hex() == known;
      if (!present)
        problems.push_back(fmt::format("record {}, the newest this machine verified before, is gone (the newest "
                                       "records were removed)",
                                       known.substr(0, 8)));
    }
  }
  const auto& records = log->records;
  size_t from = a.last > 0 && a.last < records.size() ? records.size() - a.last : 0;
  if (g.json) {
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = from; i < records.size(); ++i) {
      const auto& r = records[i];
      out.push_back({{"id", r.id.hex()},
                     {"time", format_rfc3339(r.time_ns)},
                     {"hostname", escape_name(r.hostname)},
                     {"username", escape_name(r.username)},
                     {"operation", r.operation},
                     {"result", r.result},
                     {"snapshots", r.snapshots},
                     {"details", r.details},
                     {"prev", r.prev ? r.prev->hex() : ""}});
    }
    if (a.verify) {
      fmt::print("{}\n", nlohmann::json{{"message_type", "verify"},
                                        {"records", out},
                                        {"ok", problems.empty()},
                                        {"problems", problems},
                                        {"forks", log->forks}}
                             .dump());
    } else {
      fmt::print("{}\n", out.dump());
    }
  } else {
    for (size_t i = from; i < records.size(); ++i) {
      const auto& r = records[i];
      std::string snaps;
      for (const auto& s : r.snapshots) snaps += (snaps.empty() ? " " : ",") + s.substr(0, 8);
      fmt::print("{}  {}@{}  {:<10}  {}{}{}\n", format_local(r.time_ns), escape_name(r.username),
                 escape_name(r.hostname), r.operation, r.result, snaps, r.details.empty() ? "" : "  " + r.details);
    }
    if (a.verify) {
      for (const auto& p : problems) fmt::print(stderr, "lifeboat: error: audit log: {}\n", p);
      if (problems.empty())
        fmt::print("audit log verified: {} records, chain intact{}\n", records.size(),
                   log->forks ? fmt::format(" ({} concurrent appends)", log->forks) : "");
    }
  }
  if (!a.verify) return kExitOk;
  if (!problems.empty()) {
    fmt::print(stderr, "lifeboat: error: the audit log fails verification ({} problem{})\n", problems.size(),
               problems.size() == 1 ? "" : "s");
    return kExitFatal;
  }
  if (!head_path.empty() && !records.empty()) {
    Status s = make_dirs(head_path.substr(0, head_path.rfind('/')), 0700);
    std::ofstream outf(head_path, std::ios::trunc);
    if (s.is_ok() && outf) outf << records.back().id.hex() << "\n";
  }
  return kExitOk;
}

}  // namespace

void add_log_command(CLI::App& app, Globals& g) {
  auto a = std::make_shared<LogArgs>();
  auto* cmd = app.add_subcommand("log", "Show the audit trail: every operation that changed the repository");
  cmd->add_flag("--verify", a->verify,
                "Check the hash chain: a removed, reordered or altered record fails (exit 1)");
  cmd->add_option("--last", a->last, "Show only the newest N records");
  cmd->callback([&g, a] { g.action = [&g, a] { return run_log(g, *a); }; });
}

}  // namespace lifeboat::cli
