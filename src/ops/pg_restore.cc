#include "ops/pg_restore.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ops/dump.h"
#include "ops/tree_walk.h"
#include "ops/restore.h"
#include "ops/snapshot_select.h"
#include "sources/pg/wal_names.h"
#include "util/posix_error.h"
#include "util/subprocess.h"

namespace lifeboat::ops {

namespace pg = sources::pg;

namespace {

std::string utc_text(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return fmt::format("{}.{:06d}+00", buf, static_cast<int>((ns % 1'000'000'000) / 1000));
}

std::string pg_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

bool empty_dir(const std::string& path, bool* exists) {
  DIR* d = ::opendir(path.c_str());
  *exists = d != nullptr || errno != ENOENT;
  if (!d) return true;
  bool empty = true;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

Status append_file(const std::string& path, const std::string& text, uid_t uid, gid_t gid) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return posix_error(errno, "unable to write " + path);
  Status wrote = write_all(fd, as_bytes(text), path);
  if (wrote.is_ok() && ::fsync(fd) != 0) wrote = posix_error(errno, "unable to write " + path);
  if (::geteuid() == 0) (void)::fchown(fd, uid, gid);
  ::close(fd);
  return wrote;
}

std::string bindir_for(const PgRestoreOptions& o, int version_num) {
  if (!o.pg_bindir.empty()) return o.pg_bindir;
  std::string dir = fmt::format("/usr/lib/postgresql/{}/bin", version_num / 10000);
  struct stat st;
  if (::stat((dir + "/pg_ctl").c_str(), &st) == 0) return dir;
  std::string found = find_program("pg_ctl");
  return found.empty() ? "" : found.substr(0, found.rfind('/'));
}

std::string tail_lines(const std::string& path, size_t n) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    lines.push_back(line);
    if (lines.size() > n) lines.erase(lines.begin());
  }
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : " | ") + l;
  return out;
}

Result<std::string> cluster_state(const std::string& bindir, const std::string& pgdata) {
  LB_ASSIGN_OR_RETURN(std::string out, run_capture({bindir + "/pg_controldata", pgdata}, {{"LC_ALL", "C"}}));
  auto pos = out.find("Database cluster state:");
  if (pos == std::string::npos) return Status(ErrorCode::kIo, "pg_controldata printed no cluster state");
  auto start = out.find_first_not_of(' ', pos + 23);
  return out.substr(start, out.find('\n', start) - start);
}

}  // namespace

Result<PgRestoreResult> pg_restore(repo::Repository& repo, const PgRestoreOptions& o, const OpContext& ctx) {
  int targets = (o.target_time_ns ? 1 : 0) + (!o.target_lsn.empty() ? 1 : 0) + (!o.target_xid.empty() ? 1 : 0);
  if (targets > 1)
    return Status(ErrorCode::kInvalidArgument, "give one recovery target: --target-time, --target-lsn or --target-xid");
  std::optional<uint64_t> target_lsn;
  if (!o.target_lsn.empty()) {
    target_lsn = pg::parse_lsn(o.target_lsn);
    if (!target_lsn)
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("--target-lsn \"{}\" is not an LSN (like 0/1A2B3C4D)", o.target_lsn));
  }
  if (!o.target_xid.empty() && o.target_xid.find_first_not_of("0123456789") != std::string::npos)
    return Status(ErrorCode::kInvalidArgument, fmt::format("--target-xid \"{}\" is not a transaction id", o.target_xid));
  LB_RETURN_IF_ERROR(repo.load_index());

  // Which base backup.
  PgRestoreResult result;
  if (!o.snapshot.empty()) {
    LB_ASSIGN_OR_RETURN(result.base, find_snapshot(repo, o.snapshot));
    LB_ASSIGN_OR_RETURN(result.info, pg_base_info(result.base));
  } else {
    LB_ASSIGN_OR_RETURN(auto bases, pg_base_backups(repo, o.system_id));
    if (bases.empty())
      return Status(ErrorCode::kNotFound,
                    fmt::format("no PostgreSQL base backup{} in {}: take one with `lifeboat pg basebackup --dsn ...`",
                                o.system_id ? fmt::format(" of cluster {}", *o.system_id) : "", repo.location()));
    std::vector<uint64_t> ids;
    for (const auto& b : bases) ids.push_back(b.second.system_id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    if (ids.size() > 1)
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("{} holds base backups of {} clusters ({}): choose one with --system-id",
                                repo.location(), ids.size(), fmt::join(ids, ", ")));
    const std::pair<repo::Snapshot, PgBaseInfo>* pick = nullptr;
    for (const auto& b : bases) {
      if (o.target_time_ns && b.second.stop_time_ns > *o.target_time_ns) continue;
      if (target_lsn && b.second.stop_lsn > *target_lsn) continue;
      pick = &b;
    }
    if (!pick) {
      const auto& oldest = bases.front().second;
      return Status(ErrorCode::kInvalidArgument,
                    o.target_time_ns
                        ? fmt::format("--target-time {} is before the oldest base backup ended ({}): the recoverable "
                                      "window starts there (see `lifeboat pg status`)",
                                      utc_text(*o.target_time_ns), utc_text(oldest.stop_time_ns))
                        : fmt::format("--target-lsn {} is before the oldest base backup ended ({}): the recoverable "
                                      "window starts there (see `lifeboat pg status`)",
                                      o.target_lsn, pg::format_lsn(oldest.stop_lsn)));
    }
    result.base = pick->first;
    result.info = pick->second;
  }
  const PgBaseInfo& info = result.info;

  // The archive must reach the base backup's end, and the target.
  LB_ASSIGN_OR_RETURN(auto wal, list_wal(repo, info.system_id));
  bool has_stop = std::any_of(wal.begin(), wal.end(), [&](const WalFile& w) { return w.name == info.stop_wal; });
  if (!has_stop)
    return Status(ErrorCode::kNotFound,
                  fmt::format("WAL segment {} (the end of base backup {}) is not archived: without it the backup "
                              "cannot become consistent; check archive_command = 'lifeboat wal-push %p' on the "
                              "server (nothing was written)",
                              info.stop_wal, result.base.id.short_hex()));
  if (o.target_time_ns) {
    int64_t newest = 0;
    for (const auto& w : wal) newest = std::max(newest, w.mtime_ns);
    if (*o.target_time_ns > repo.clock().now_ns())
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("--target-time {} is in the future (nothing was written)", utc_text(*o.target_time_ns)));
    if (newest > 0 && *o.target_time_ns > newest)
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("--target-time {} is after the newest archived WAL ({}): the recoverable window ends "
                                "there (nothing was written; see `lifeboat pg status`)",
                                utc_text(*o.target_time_ns), utc_text(newest)));
  }

  // The target directory.
  bool exists = false;
  struct stat running;
  if (o.delta && ::stat((o.pgdata + "/postmaster.pid").c_str(), &running) == 0)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("{} has a postmaster.pid: stop the server on it before a delta restore (nothing was "
                              "written)",
                              o.pgdata));
  if (!empty_dir(o.pgdata, &exists) && !o.force && !o.delta)
    return Status(ErrorCode::kAlreadyExists,
                  fmt::format("{} is not empty: restore into an empty or new directory, or give --force to overwrite "
                              "(nothing was written)",
                              o.pgdata));
  for (const auto& t : info.tablespaces) {
    bool e = false;
    if (!empty_dir(t.location, &e) && !o.force && !o.delta)
      return Status(ErrorCode::kAlreadyExists,
                    fmt::format("tablespace {} goes to {}, which is not empty: empty it or give --force (nothing was "
                                "written)",
                                t.oid, t.location));
  }
  if (!exists && ::mkdir(o.pgdata.c_str(), 0700) != 0 && errno != EEXIST)
    return posix_error(errno, "unable to create " + o.pgdata);

  auto t0 = std::chrono::steady_clock::now();
  chunk::FastCdc cdc(repo.keys().gear_table(), repo.config().chunker);
  auto restore_part = [&](const std::string& path, const std::string& target) -> Status {
    LB_ASSIGN_OR_RETURN(repo::Node node, find_entry(repo, result.base, path));
    if (node.type != repo::NodeType::kDir || !node.subtree)
      return Status(ErrorCode::kCorrupt, fmt::format("base backup {} has no {}", result.base.id.short_hex(), path));
    repo::Snapshot part = result.base;
    part.tree = *node.subtree;
    RestoreOptions ro;
    ro.target = target;
    ro.workers = o.workers;
    if (o.delta) {
      ro.delta = [&](const std::string& file) {
        std::string rel = file.size() > target.size() ? file.substr(target.size() + 1) : file;
        return pg::is_relation_file(rel) ? Cutter::fixed(info.page_chunk) : Cutter::content_defined(cdc);
      };
      // What the base backup does not have goes (pg_wal's old segments, a
      // dropped table's files, postmaster.opts, ...).
      std::set<std::string> keep;
      LB_RETURN_IF_ERROR(walk_tree(repo, part.tree, "", [&](const std::string& p, const repo::Node&) {
        keep.insert(p);
        return Visit::kDescend;
      }));
      std::error_code ec;
      std::vector<std::filesystem::path> extra;
      for (auto it = std::filesystem::recursive_directory_iterator(target, ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        std::string rel = "/" + std::filesystem::relative(it->path(), target, ec).string();
        if (!keep.count(rel)) {
          extra.push_back(it->path());
          if (it->is_directory(ec) && !it->is_symlink(ec)) it.disable_recursion_pending();
        }
      }
      for (const auto& p : extra) {
        std::filesystem::remove_all(p, ec);
        if (ec) return posix_error(ec.value(), "unable to remove " + p.string());
        result.files_removed++;
      }
    }
    LB_ASSIGN_OR_RETURN(auto r, restore(repo, part, ro, ctx));
    result.files_kept += r.files_kept;
    if (!r.errors.empty())
      return Status(ErrorCode::kCorrupt, fmt::format("{} file(s) could not be restored, first: {}", r.errors.size(),
                                                     r.errors.front()));
    result.files += r.files;
    result.bytes += r.bytes;
    return Status::ok();
  };
  LB_RETURN_IF_ERROR(restore_part("/data", o.pgdata));
  for (const auto& t : info.tablespaces)
    LB_RETURN_IF_ERROR(restore_part(fmt::format("/tablespaces/{}", t.oid), t.location));
  ::chmod(o.pgdata.c_str(), 0700);

  // Recovery settings, owned like the restored files.
  struct stat owner {};
  if (::stat((o.pgdata + "/PG_VERSION").c_str(), &owner) != 0)
    return posix_error(errno, "the restored data directory has no PG_VERSION");
  std::string conf = fmt::format("\n# Added by lifeboat pg restore from base backup {} at {}\n",
                                 result.base.id.short_hex(), utc_text(repo.clock().now_ns()));
  conf += "restore_command = " + pg_quote(o.restore_command) + "\n";
  if (o.target_time_ns) conf += "recovery_target_time = " + pg_quote(utc_text(*o.target_time_ns)) + "\n";
  if (target_lsn) conf += "recovery_target_lsn = " + pg_quote(pg::format_lsn(*target_lsn)) + "\n";
  if (!o.target_xid.empty()) conf += "recovery_target_xid = " + pg_quote(o.target_xid) + "\n";
  if (targets > 0) {
    conf += "recovery_target_action = 'promote'\n";
    if (!o.target_inclusive) conf += "recovery_target_inclusive = off\n";
  }
  if (o.archive_off) conf += "archive_mode = 'off'\n";
  if (o.port > 0) conf += fmt::format("port = {}\n", o.port);
  for (const auto& line : o.extra_conf) conf += line + "\n";
  LB_RETURN_IF_ERROR(append_file(o.pgdata + "/postgresql.auto.conf", conf, owner.st_uid, owner.st_gid));
  LB_RETURN_IF_ERROR(append_file(o.pgdata + "/recovery.signal", "", owner.st_uid, owner.st_gid));
  result.restore_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!o.start) return result;

  LB_ASSIGN_OR_RETURN(result.recovery_seconds, pg_recover(o.pgdata, o, info.pg_version_num, ctx));
  result.started = true;
  return result;
}

namespace {
// argv to run a server program on `pgdata` as the owner of its files.
Result<std::vector<std::string>> as_owner(const std::string& pgdata, struct stat* owner) {
  if (::stat((pgdata + "/PG_VERSION").c_str(), owner) != 0)
    return posix_error(errno, "the restored data directory has no PG_VERSION");
  std::vector<std::string> argv;
  if (::geteuid() == 0 && owner->st_uid != 0) {
    struct passwd* pw = ::getpwuid(owner->st_uid);
    if (!pw) return Status(ErrorCode::kInvalidArgument, "the restored files' owner has no user name to run PostgreSQL as");
    argv = {"runuser", "-u", pw->pw_name, "--"};
  }
  return argv;
}
}  // namespace

Status pg_stop(const std::string& pgdata, const PgRestoreOptions& o, int pg_version_num) {
  struct stat owner {};
  LB_ASSIGN_OR_RETURN(auto argv, as_owner(pgdata, &owner));
  std::string bindir = bindir_for(o, pg_version_num);
  if (bindir.empty()) return Status(ErrorCode::kNotFound, "pg_ctl was not found");
  argv.insert(argv.end(), {bindir + "/pg_ctl", "-D", pgdata, "-m", "fast", "-w", "-t", "120", "stop"});
  Subprocess::Options so;
  so.argv = argv;
  so.pipe = Subprocess::Pipe::kNone;
  LB_ASSIGN_OR_RETURN(Subprocess ctl, Subprocess::start(so));
  return ctl.wait();
}

Result<double> pg_recover(const std::string& pgdata, const PgRestoreOptions& o, int pg_version_num,
                          const OpContext& ctx) {
  struct stat owner {};
  LB_ASSIGN_OR_RETURN(auto argv, as_owner(pgdata, &owner));
  std::string bindir = bindir_for(o, pg_version_num);
  if (bindir.empty())
    return Status(ErrorCode::kNotFound, "pg_ctl was not found: install PostgreSQL's server binaries or give --pg-bin "
                                        "(the data directory is restored; start it yourself)");
  std::string log = pgdata + "/lifeboat-recovery.log";
  if (!argv.empty()) {
    ::close(::open(log.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    (void)::chown(log.c_str(), owner.st_uid, owner.st_gid);
  }
  argv.insert(argv.end(), {bindir + "/pg_ctl", "-D", pgdata, "-l", log, "-W", "start"});
  std::map<std::string, std::string> env(o.server_env.begin(), o.server_env.end());
  auto t1 = std::chrono::steady_clock::now();
  Subprocess::Options so;
  so.argv = argv;
  so.env = env;
  so.pipe = Subprocess::Pipe::kNone;
  LB_ASSIGN_OR_RETURN(Subprocess ctl, Subprocess::start(so));
  Status started = ctl.wait();
  if (!started.is_ok()) return started.with_context("PostgreSQL did not start: " + tail_lines(log, 3));
  auto deadline = t1 + std::chrono::nanoseconds(o.start_timeout_ns);
  for (;;) {
    // The restored pg_control says "in production" (a running server was
    // backed up) until recovery starts; PostgreSQL removes recovery.signal
    // when it promotes.
    struct stat pid;
    if (::stat((pgdata + "/recovery.signal").c_str(), &pid) != 0) {
      auto state = cluster_state(bindir, pgdata);
      if (state.is_ok() && *state == "in production") break;
    }
    bool running = ::stat((pgdata + "/postmaster.pid").c_str(), &pid) == 0;
    if (!running && std::chrono::steady_clock::now() - t1 > std::chrono::seconds(2))
      return Status(ErrorCode::kIo, fmt::format("recovery failed, PostgreSQL stopped: {} (log: {})",
                                                tail_lines(log, 2), log));
    if (std::chrono::steady_clock::now() > deadline)
      return Status(ErrorCode::kIo, fmt::format("recovery did not finish in time (log: {})", log));
    if (ctx.cancelled()) return Status(ErrorCode::kCancelled, "interrupted while PostgreSQL recovers (it keeps running)");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
}

}  // namespace lifeboat::ops
