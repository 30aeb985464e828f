// wal-push and wal-fetch: PostgreSQL's archive_command and restore_command.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "ops/wal.h"
#include "crypto/keyed_hash.h"
#include "util/encoding.h"
#include "util/posix_error.h"
#include "util/time_format.h"

namespace lifeboat::cli {

namespace {

struct WalArgs {
  bool async = false;
  std::string spool;
  int parallel = 2;
  int async_timeout = 120;
  std::string path;
  std::string name;
  std::string dest;
  std::string system_id;
  std::string pgdata = ".";
  int level = compress::kDefaultLevel;
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

bool file_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

// archive_command with --async: returns once the background pusher has
// stored this file (or says why not), starting the pusher when none runs.
int run_wal_push_async(Globals& g, const WalArgs& a, const ops::WalPushOptions& o) {
  std::string name = a.path.substr(a.path.rfind('/') + 1);
  std::string wal_dir = a.path.find('/') == std::string::npos ? "." : a.path.substr(0, a.path.rfind('/'));
  std::string spool = a.spool;
  if (spool.empty()) {
    std::string root = cache_root(g);
    if (root.empty())
      return fail(Status(ErrorCode::kInvalidArgument, "wal-push --async needs --spool DIR (no cache directory)"));
    char abs[PATH_MAX];
    std::string key = repository_location(g) + "\n" + (::realpath(wal_dir.c_str(), abs) ? abs : wal_dir);
    auto digest = crypto::sha256(as_bytes(key));
    spool = root + "/wal-spool/" + hex_encode(ByteSpan(digest.data(), 8));
  }
  if (Status s = make_dirs(spool + "/done", 0700); !s.is_ok()) return fail(s);
  if (Status s = make_dirs(spool + "/error", 0700); !s.is_ok()) return fail(s);
  std::string done = spool + "/done/" + name, error = spool + "/error/" + name;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(a.async_timeout);
  for (;;) {
    if (file_exists(done)) {
      ::unlink(done.c_str());
      return kExitOk;
    }
    if (file_exists(error)) {
      std::ifstream in(error);
      std::string why((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      ::unlink(error.c_str());
      return fail(Status(ErrorCode::kIo, fmt::format("wal-push {}: {}", a.path, why)));
    }
    if (!file_exists(wal_dir + "/archive_status/" + name + ".ready") && !file_exists(done)) {
      // Not announced by PostgreSQL (a manual call): push it here.
      auto repo = open_repository_with_key_cache(g);
      if (!repo.is_ok()) return fail(repo.status());
      auto r = ops::wal_push(**repo, o);
      if (!r.is_ok()) return fail(r.status().with_context("wal-push " + a.path));
      return kExitOk;
    }
    int fd = ::open((spool + "/pusher.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      pid_t pid = ::fork();
      if (pid == 0) {
        // The pusher: detached, quiet, holding the lock until it ends.
        ::setsid();
        int null = ::open("/dev/null", O_RDWR);
        for (int i = 0; i < 3; ++i) ::dup2(null, i);
        if (::fork() != 0) ::_exit(0);
        auto repo = open_repository_with_key_cache(g);
        if (!repo.is_ok()) {
          // Every waiting call reports why.
          for (const auto& f : std::filesystem::directory_iterator(wal_dir + "/archive_status")) {
            std::string n = f.path().filename().string();
            if (n.ends_with(".ready")) {
              std::ofstream(spool + "/error/" + n.substr(0, n.size() - 6)) << repo.status().message();
            }
          }
          ::_exit(1);
        }
        ops::WalSpoolOptions so;
        so.wal_dir = wal_dir;
        so.spool = spool;
        so.parallel = a.parallel;
        so.system_id = o.system_id;
        so.pgdata = o.pgdata;
        so.compression_level = o.compression_level;
        ops::OpContext ctx = make_context();
        Status s = ops::wal_spool_push(**repo, so, ctx);
        ::_exit(s.is_ok() ? 0 : 1);
      }
      if (pid > 0) ::waitpid(pid, nullptr, 0);
    }
    if (fd >= 0) ::close(fd);
    if (std::chrono::steady_clock::now() > deadline)
      return fail(Status(ErrorCode::kIo, fmt::format("wal-push --async {}: not stored within {} s (spool {})", a.path,
                                                     a.async_timeout, spool)));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
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
  push->add_option("--compression-level", a->level, fmt::format("zstd level for WAL (default {})", compress::kDefaultLevel))->check(CLI::Range(1, 19));
  push->add_flag("--async", a->async, "Push files PostgreSQL marked ready ahead, in a background pusher; this call "
                                      "still returns only once its file is stored");
  push->add_option("--spool", a->spool, "Spool directory for --async (default: in the cache directory)");
  push->add_option("--parallel", a->parallel, "Files the --async pusher stores at once (default 2)")
      ->check(CLI::Range(1, 64));
  push->add_option("--async-timeout", a->async_timeout, "Seconds to wait for the pusher (default 120)")
      ->check(CLI::Range(1, 86400));
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
      if (a->async) return run_wal_push_async(g, *a, o);
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
