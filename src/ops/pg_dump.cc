#include "ops/pg_dump.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ops/snapshot_builder.h"
#include "ops/snapshot_select.h"
#include "sources/pg/dump_session.h"
#include "sources/pg/dump_spool.h"
#include "sources/pg/dump_tools.h"
#include "util/posix_error.h"
#include "util/subprocess.h"

namespace lifeboat::ops {

namespace pg = sources::pg;

uint64_t PgDumpSource::total_rows() const {
  uint64_t n = 0;
  for (const auto& t : tables) n += t.rows;
  return n;
}

std::string PgDumpSource::to_json() const {
  nlohmann::json j;
  j["database"] = database;
  j["server_version"] = server_version;
  j["server_version_num"] = server_version_num;
  j["pg_dump_version"] = pg_dump_version;
  j["format"] = format;
  j["path"] = path;
  j["where"] = where;
  j["row_counts"] = "exact";
  auto& ts = j["tables"] = nlohmann::json::array();
  for (const auto& t : tables) ts.push_back({{"schema", t.schema}, {"name", t.name}, {"rows", t.rows}});
  return j.dump();
}

Result<PgDumpSource> PgDumpSource::from_json(const std::string& json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status(ErrorCode::kCorrupt, "the snapshot's pg-dump metadata is not valid JSON");
  PgDumpSource s;
  try {
    s.database = j.value("database", "");
    s.server_version = j.value("server_version", "");
    s.server_version_num = j.value("server_version_num", 0);
    s.pg_dump_version = j.value("pg_dump_version", "");
    s.format = j.value("format", "custom");
    s.path = j.value("path", "");
    s.where = j.value("where", "");
    if (j.contains("tables"))
      for (const auto& t : j.at("tables"))
        s.tables.push_back(PgDumpTable{t.value("schema", ""), t.value("name", ""), t.value("rows", uint64_t{0})});
  } catch (const nlohmann::json::exception& e) {
    return Status(ErrorCode::kCorrupt, fmt::format("the snapshot's pg-dump metadata is malformed: {}", e.what()));
  }
  if (s.path.empty()) return Status(ErrorCode::kCorrupt, "the snapshot's pg-dump metadata names no dump file");
  return s;
}

std::string dump_entry_name(const std::string& database) {
  std::string name = database.empty() ? "postgres" : database;
  for (char& c : name)
    if (c == '/' || c == '\0') c = '_';
  if (name == "." || name == "..") name = "_" + name;
  return name;
}

Result<repo::Snapshot> find_pg_dump_snapshot(const repo::Repository& repo, const std::string& ref,
                                             const std::string& database) {
  if (ref == "latest") {
    LB_ASSIGN_OR_RETURN(auto all, list_snapshots(repo));
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      if (it->kind != "pg-dump") continue;
      if (!database.empty()) {
        auto src = PgDumpSource::from_json(it->source_json);
        if (!src.is_ok() || src->database != database) continue;
      }
      return *it;
    }
    return Status(ErrorCode::kNotFound,
                  database.empty() ? std::string("the repository has no pg-dump snapshot: make one with `lifeboat pg "
                                                 "dump --dsn DSN`")
                                   : fmt::format("the repository has no pg-dump snapshot of database \"{}\": see "
                                                 "`lifeboat snapshots`",
                                                 database));
  }
  LB_ASSIGN_OR_RETURN(repo::Snapshot snap, find_snapshot(repo, ref));
  if (snap.kind != "pg-dump")
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("snapshot {} is of kind \"{}\", not a pg-dump: name a snapshot made by `lifeboat pg "
                              "dump` (see `lifeboat snapshots`)",
                              snap.id.short_hex(), snap.kind));
  return snap;
}

namespace {

// The row counts, taken on the exporting session while pg_dump runs.
class Counter {
 public:
  Counter(pg::PgSession& session, std::vector<pg::TableRef> tables, const OpContext& ctx)
      : session_(session), tables_(std::move(tables)) {
    thread_ = std::thread([this, &ctx] {
      for (const auto& t : tables_) {
        if (stop_.load() || ctx.cancelled()) {
          status_ = Status(ErrorCode::kCancelled, "cancelled");
          return;
        }
        // A failed count must not abort the transaction whose snapshot
        // pg_dump may not have imported yet: each runs in a savepoint.
        Status sp = session_.exec("SAVEPOINT lifeboat_count");
        auto n = sp.is_ok() ? pg::count_rows(session_, t) : Result<uint64_t>(sp);
        if (!n.is_ok()) {
          session_.exec("ROLLBACK TO SAVEPOINT lifeboat_count").ignore();  // the count's error is reported
          status_ = n.status().with_context("unable to count the rows of " + t.qualified());
          return;
        }
        session_.exec("RELEASE SAVEPOINT lifeboat_count").ignore();  // a failure shows in the next statement
        counts_.push_back(PgDumpTable{t.schema, t.name, *n});
      }
    });
  }
  ~Counter() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    stop_.store(true);
    session_.cancel();
    thread_.join();
  }
  Result<std::vector<PgDumpTable>> finish() {
    if (thread_.joinable()) thread_.join();
    if (!status_.is_ok()) return status_;
    return counts_;
  }

 private:
  pg::PgSession& session_;
  std::vector<pg::TableRef> tables_;
  std::vector<PgDumpTable> counts_;
  Status status_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

Status pg_dump_failed(const Status& exited, const std::string& stderr_text, const OpContext& ctx) {
  // Ctrl-C reaches pg_dump too (it is in our process group).
  if (ctx.cancelled()) return Status(ErrorCode::kCancelled, "interrupted; no snapshot was written");
  std::string line = pg::tool_error_line(stderr_text);
  if (line.empty()) return exited.with_context("pg_dump failed, no snapshot was written");
  return Status(ErrorCode::kIo, "pg_dump failed, no snapshot was written: " + line);
}

EntryMeta entry_meta(const OpContext& ctx, uint32_t mode) {
  EntryMeta meta;
  meta.mode = mode;
  meta.uid = ctx.uid;
  meta.gid = ctx.gid;
  return meta;
}

// Custom format: pg_dump's standard output, straight into one file.
Status dump_custom(SnapshotBuilder& b, Subprocess::Options so, const std::string& file, const OpContext& ctx) {
  so.pipe = Subprocess::Pipe::kRead;
  LB_ASSIGN_OR_RETURN(Subprocess child, Subprocess::start(so));
  ReadFn read = [&](uint8_t* buf, size_t n) -> Result<size_t> {
    if (ctx.cancelled()) return Status(ErrorCode::kCancelled, "cancelled");
    return child.read(buf, n);
  };
  auto stored = b.add_file(file, read, entry_meta(ctx, 0600));
  if (!stored.is_ok()) {
    child.kill();
    return stored.status();
  }
  Status exited = child.wait();
  if (!exited.is_ok()) return pg_dump_failed(exited, child.stderr_text(), ctx);
  return Status::ok();
}

// Sends `sig` to `root` and its descendants (pg_dump's parallel workers are
// its children). Only called while `root` has not been reaped, so its pid
// and its children's are still theirs.
void signal_tree(pid_t root, int sig) {
  std::map<pid_t, std::vector<pid_t>> children;
  if (DIR* d = ::opendir("/proc")) {
    while (struct dirent* e = ::readdir(d)) {
      char* end = nullptr;
      long pid = std::strtol(e->d_name, &end, 10);
      if (pid <= 0 || *end) continue;
      std::ifstream in(fmt::format("/proc/{}/stat", pid));
      std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto paren = stat.rfind(')');  // "pid (comm) state ppid ..."
      if (paren == std::string::npos || paren + 4 >= stat.size()) continue;
      long ppid = std::strtol(stat.c_str() + paren + 4, nullptr, 10);
      children[static_cast<pid_t>(ppid)].push_back(static_cast<pid_t>(pid));
    }
    ::closedir(d);
  }
  std::vector<pid_t> todo = {root};
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    ::kill(p, sig);
    for (pid_t c : children[p]) todo.push_back(c);
  }
}

// Directory format: pg_dump's files, each stored while pg_dump writes it.
// When more than `spool_limit` bytes wait unread in the spool (the
// repository is slower than pg_dump), pg_dump is paused (SIGSTOP) until the
// readers have drained half of it: the spool stays bounded whatever the
// speeds.
Status dump_directory(SnapshotBuilder& b, Subprocess::Options so, const std::string& spool, const std::string& dir,
                      uint64_t spool_limit, const OpContext& ctx) {
  LB_ASSIGN_OR_RETURN(auto follower, pg::SpoolFollower::open(spool));
  so.pipe = Subprocess::Pipe::kNone;
  LB_ASSIGN_OR_RETURN(Subprocess child, Subprocess::start(so));
  pid_t pid = child.pid();
  std::atomic<bool> throttling{true};
  std::thread throttle([&] {
    bool paused = false;
    while (throttling.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      uint64_t unread = follower->unread_bytes();
      if (unread > spool_limit) {
        signal_tree(pid, SIGSTOP);  // again each time: a worker may have started since
        paused = true;
      } else if (paused && unread <= spool_limit / 2) {
        signal_tree(pid, SIGCONT);
        paused = false;
      }
    }
    if (paused) signal_tree(pid, SIGCONT);
  });
  std::once_flag throttle_stopped;
  auto stop_throttle = [&] {
    std::call_once(throttle_stopped, [&] {
      throttling.store(false);
      throttle.join();
    });
  };
  Status exited;
  std::string child_stderr;
  std::thread waiter([&] {
    // Exited, not yet reaped: the throttle stops before the pid can be reused.
    siginfo_t info;
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
    }
    stop_throttle();
    exited = child.wait();
    child_stderr = child.stderr_text();
    follower->writer_done(exited.is_ok() ? Status::ok() : Status(ErrorCode::kIo, "pg_dump failed"));
  });
  // A reader that fails wakes the loop below (which may be waiting for a
  // new file while the throttle holds pg_dump) through follower->cancel().
  std::mutex errors_mu;
  Status reader_error;
  std::vector<std::future<void>> readers;
  Status loop_error;
  for (;;) {
    auto next = follower->next_file([&ctx] { return ctx.cancelled(); });
    if (!next.is_ok()) {
      loop_error = next.status();
      break;
    }
    if (!*next) break;
    std::string name = **next;
    readers.push_back(std::async(std::launch::async, [&, name] {
      Status s = [&]() -> Status {
        LB_ASSIGN_OR_RETURN(auto reader, follower->reader(name));
        ReadFn read = [&](uint8_t* buf, size_t n) { return reader->read(buf, n); };
        return b.add_file(dir + "/" + name, read, entry_meta(ctx, 0600)).status();
      }();
      if (s.is_ok()) return;
      {
        std::lock_guard<std::mutex> lock(errors_mu);
        if (reader_error.is_ok() || reader_error.code() == ErrorCode::kCancelled) reader_error = s;
      }
      follower->cancel();
    }));
    // Forget the readers that are done.
    std::erase_if(readers, [](std::future<void>& f) {
      return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    });
  }
  bool failed = !loop_error.is_ok() || ctx.cancelled();
  {
    std::lock_guard<std::mutex> lock(errors_mu);
    failed = failed || !reader_error.is_ok();
  }
  bool stopped = false;
  if (failed && !follower->writer_finished()) {
    // Stop pg_dump and its workers (resumed first if the throttle paused
    // them), and every reader.
    stop_throttle();
    signal_tree(pid, SIGTERM);
    stopped = true;
  }
  if (failed) follower->cancel();
  for (auto& r : readers) r.wait();
  waiter.join();
  if (ctx.cancelled())
    return Status(ErrorCode::kCancelled, "interrupted; no snapshot was written (data stored so far is kept and "
                                         "reused by the next backup)");
  // pg_dump's own failure explains the readers' failures; ours explains its.
  if (!exited.is_ok() && !stopped) return pg_dump_failed(exited, child_stderr, ctx);
  if (!reader_error.is_ok() && reader_error.code() != ErrorCode::kCancelled) return reader_error;
  if (!loop_error.is_ok()) return loop_error;
  return reader_error;
}

}  // namespace

Result<PgDumpResult> pg_dump_backup(repo::Repository& repo, const PgDumpOptions& options, const OpContext& ctx) {
  if (options.format != "custom" && options.format != "directory")
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("unknown dump format \"{}\": use custom or directory", options.format));
  if (options.jobs < 1) return Status(ErrorCode::kInvalidArgument, "--jobs must be at least 1");
  bool directory = options.format == "directory" || options.jobs > 1;
  if (options.dsn.empty())
    return Status(ErrorCode::kInvalidArgument,
                  "no database given: --dsn \"host=... dbname=... user=...\" (the password from PGPASSWORD or "
                  "PGPASSFILE)");

  // Everything that can be checked is checked before anything is written.
  LB_ASSIGN_OR_RETURN(pg::PgTool tool, pg::find_tool("pg_dump", options.bindir));
  LB_ASSIGN_OR_RETURN(pg::ConnInfo ci, pg::parse_conninfo(options.dsn));
  LB_ASSIGN_OR_RETURN(auto session, pg::PgSession::connect(options.dsn));
  int server_major = pg::major_of_version_num(session->server_version_num());
  if (server_major > tool.major)
    return Status(ErrorCode::kUnsupported,
                  fmt::format("{} is pg_dump {}, which cannot dump the PostgreSQL {} server at {}: install pg_dump {} "
                              "or newer and name its directory with --pg-bin",
                              tool.path, tool.version, session->server_version(), session->where(),
                              pg::major_name(server_major)));
  LB_ASSIGN_OR_RETURN(std::string exported, pg::begin_exported_snapshot(*session));
  LB_ASSIGN_OR_RETURN(auto tables, pg::list_tables(*session));

  PgDumpSource source;
  source.database = session->database();
  source.server_version = session->server_version();
  source.server_version_num = session->server_version_num();
  source.pg_dump_version = tool.version;
  source.format = directory ? "directory" : "custom";
  source.where = session->where();
  std::string name = dump_entry_name(source.database);
  source.path = directory ? "/" + name : "/" + name + ".dump";

  Subprocess::Options so;
  so.argv = {tool.path, directory ? "--format=directory" : "--format=custom", "--compress=0", "--no-password",
             "--snapshot=" + exported, "--dbname=" + ci.without_password()};
  if (auto pw = ci.password()) so.env["PGPASSWORD"] = *pw;

  std::string spool_root;
  std::string spool;
  if (directory) {
    std::string parent = options.spool_dir.empty() ? "/tmp" : options.spool_dir;
    std::string tmpl = parent + "/lifeboat-pgdump-XXXXXX";
    if (!::mkdtemp(tmpl.data())) return posix_error(errno, "unable to create a spool directory in " + parent);
    spool_root = tmpl;
    spool = spool_root + "/" + name;
    if (::mkdir(spool.c_str(), 0700) != 0) {
      std::error_code ec;
      std::filesystem::remove_all(spool_root, ec);
      return posix_error(errno, "unable to create " + spool);
    }
    so.argv.push_back("--file=" + spool);
    so.argv.push_back(fmt::format("--jobs={}", options.jobs));
    so.argv.push_back("--no-sync");
  }
  struct SpoolCleanup {
    std::string dir;
    ~SpoolCleanup() {
      std::error_code ec;
      if (!dir.empty()) std::filesystem::remove_all(dir, ec);
    }
  } cleanup{spool_root};

  auto builder = SnapshotBuilder::begin(repo, ctx, 0, options.bytes_done);
  if (!builder.is_ok()) return builder.status();
  auto& b = **builder;
  Counter counter(*session, tables, ctx);
  Status dumped = directory ? dump_directory(b, so, spool, name, options.spool_limit, ctx)
                            : dump_custom(b, so, name + ".dump", ctx);
  if (!dumped.is_ok()) {
    counter.stop();
    b.abort();
    return dumped;
  }
  auto counts = counter.finish();
  if (!counts.is_ok()) {
    b.abort();
    return counts.status().with_context("no snapshot was written");
  }
  source.tables = std::move(*counts);
  session->exec("COMMIT").ignore();  // read-only: nothing to lose if it fails

  SnapshotInfo info;
  info.kind = "pg-dump";
  info.paths = {source.path};
  info.tags = options.tags;
  info.time_ns = options.time_ns;
  info.source_json = source.to_json();
  info.audit_details = fmt::format("pg-dump of database {} ({} tables, {} rows)", source.database,
                                   source.tables.size(), source.total_rows());
  auto snap = b.commit(info);
  if (!snap.is_ok()) return snap.status();
  return PgDumpResult{std::move(*snap), std::move(source)};
}

}  // namespace lifeboat::ops
