// lifeboat redis backup | restore
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/progress.h"
#include "interfaces/cli/render.h"
#include "ops/redis_backup.h"
#include "ops/redis_restore.h"
#include "ops/snapshot_select.h"
#include "repo/snapshot_json.h"
#include "util/time_format.h"

namespace lifeboat::cli {

namespace {

struct RedisBackupArgs {
  std::string url = "redis://127.0.0.1:6379";
  bool no_aof = false;
  std::vector<std::string> tags;
  std::string host;
  std::string time;
  int timeout = 120;
};

struct RedisRestoreArgs {
  std::string snapshot;
  std::string dir;
  bool force = false;
  bool no_aof = false;
  ops::SnapshotFilter filter;
};

// "latest" means the newest Redis snapshot, not the newest of any kind.
Result<repo::Snapshot> find_redis_snapshot(const repo::Repository& repo, const std::string& ref,
                                           const ops::SnapshotFilter& filter) {
  if (ref != "latest") return ops::find_snapshot(repo, ref, filter);
  LB_ASSIGN_OR_RETURN(auto all, ops::list_snapshots(repo, filter));
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->kind == "redis") return *it;
  return Status(ErrorCode::kNotFound, "there is no Redis snapshot: make one with `lifeboat redis backup`");
}

int run_redis_backup(Globals& g, const RedisBackupArgs& a) {
  auto ep = sources::redis::parse_redis_url(a.url);
  if (!ep.is_ok()) return fail(ep.status());
  ops::RedisBackupOptions o;
  o.endpoint = *ep;
  // A password in the URL wins; else REDISCLI_AUTH, as for redis-cli.
  o.password = ep->password;
  if (o.password.empty()) {
    const char* auth = std::getenv("REDISCLI_AUTH");
    if (auth) o.password = auth;
  }
  o.aof = !a.no_aof;
  o.tags = a.tags;
  o.idle_timeout_ms = a.timeout * 1000;
  if (Status s = check_snapshot_options(a.tags, a.time, &o.time_ns); !s.is_ok()) return fail(s);
  enable_graceful_interrupt();
  ops::OpContext ctx = make_context();
  if (!a.host.empty()) ctx.hostname = a.host;
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  auto r = with_stream_progress(show_progress(g), "RDB ", [&](std::atomic<uint64_t>* bytes) {
    o.bytes_done = bytes;
    return ops::redis_backup(**repo, o, ctx);
  });
  if (!r.is_ok()) return fail(r.status());
  const auto& s = r->snapshot;
  const auto& m = s.summary;
  nlohmann::json keys = nlohmann::json::object();
  uint64_t total = 0;
  for (const auto& [db, n] : r->keys) {
    keys[fmt::format("db{}", db)] = n;
    total += n;
  }
  if (g.json) {
    nlohmann::json j = saved_snapshot_json(s);
    j["redis_version"] = r->redis_version;
    j["rdb_bytes"] = r->rdb_bytes;
    j["keys"] = keys;
    j["aof_stored"] = r->aof_stored;
    j["aof_bytes"] = r->aof_bytes;
    j["notes"] = r->notes;
    fmt::print("{}\n", j.dump());
    return kExitOk;
  }
  if (!g.quiet) {
    std::vector<std::string> per_db;
    for (const auto& [db, n] : r->keys) per_db.push_back(fmt::format("db{} {}", db, n));
    fmt::print("Redis {} at {}: RDB {}, {} key{}{}\n", r->redis_version, ep->display(), format_bytes(r->rdb_bytes),
               total, total == 1 ? "" : "s", per_db.empty() ? "" : fmt::format(" ({})", fmt::join(per_db, ", ")));
    if (r->aof_stored) fmt::print("AOF: {}\n", format_bytes(r->aof_bytes));
    for (const auto& n : r->notes) fmt::print("Note: {}\n", n);
    fmt::print("Added to the repository: {} ({} before compression) in {}\n", format_bytes(m.data_added),
               format_bytes(m.data_added_raw), format_duration(m.backup_end_ns - m.backup_start_ns));
  }
  fmt::print("snapshot {} saved\n", s.id.short_hex());
  return kExitOk;
}

int run_redis_restore(Globals& g, const RedisRestoreArgs& a) {
  if (a.dir.empty())
    return fail(Status(ErrorCode::kInvalidArgument, "redis restore needs --dir DIR (where redis-server will start)"));
  enable_graceful_interrupt();
  ops::OpContext ctx = make_context();
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  auto snap = find_redis_snapshot(**repo, a.snapshot, a.filter);
  if (!snap.is_ok()) return fail(snap.status());
  ops::RedisRestoreOptions o;
  o.dir = a.dir;
  o.force = a.force;
  o.aof = !a.no_aof;
  auto r = ops::redis_restore(**repo, *snap, o, ctx);
  if (!r.is_ok()) return fail(r.status());
  if (g.json) {
    nlohmann::json j;
    j["message_type"] = "summary";
    j["snapshot_id"] = snap->id.hex();
    j["dir"] = a.dir;
    j["files"] = r->written;
    j["removed"] = r->removed;
    j["bytes"] = r->bytes;
    j["aof"] = r->aof;
    j["start_command"] = r->start_command;
    fmt::print("{}\n", j.dump());
    return kExitOk;
  }
  if (!g.quiet) {
    for (const auto& p : r->removed) fmt::print("removed {} (a server would have loaded it instead)\n", p);
    for (const auto& p : r->written) fmt::print("restored {}\n", p);
    fmt::print("Start a server from it with: {}\n", r->start_command);
  }
  fmt::print("snapshot {} restored to {} ({})\n", snap->id.short_hex(), a.dir, format_bytes(r->bytes));
  return kExitOk;
}

}  // namespace

void add_redis_command(CLI::App& app, Globals& g) {
  auto* redis = app.add_subcommand("redis", "Redis: back up a server's RDB (and AOF), restore it for a server");
  redis->require_subcommand(1);

  auto b = std::make_shared<RedisBackupArgs>();
  auto* backup = redis->add_subcommand("backup", "Store a consistent RDB of a running Redis server as a snapshot");
  backup->add_option("--url", b->url,
                     "The server: redis://[user[:password]@]host[:port][/db] or unix:///path/redis.sock "
                     "(default redis://127.0.0.1:6379)");
  backup->add_flag("--no-aof", b->no_aof, "Do not store the AOF directory, even when it is readable here");
  backup->add_option("--tag", b->tags, "Tag the snapshot (repeatable)")->allow_extra_args(false);
  backup->add_option("--host", b->host, "Host name to record (default: this machine's)");
  backup->add_option("--time", b->time, "Record this time for the snapshot instead of now");
  backup->add_option("--timeout", b->timeout, "Seconds the server may stay silent during the transfer (default 120)")
      ->check(CLI::Range(1, 86400));
  backup->footer(
      "The RDB comes over the replication protocol, as `redis-cli --rdb` gets it: the server forks and streams a\n"
      "point-in-time copy; nothing is written to disk here. Key counts per database are read from the RDB and\n"
      "recorded. With AOF on and the server on this machine, its AOF directory is stored too.\n"
      "Password: REDISCLI_AUTH (or in the URL). The user needs SYNC and REPLCONF (ACL: +sync +replconf, or @admin).\n"
      "Example: REDISCLI_AUTH=secret lifeboat redis backup --url redis://127.0.0.1:6379 --tag nightly");
  backup->callback([&g, b] { g.action = [&g, b] { return run_redis_backup(g, *b); }; });

  auto r = std::make_shared<RedisRestoreArgs>();
  auto* restore = redis->add_subcommand("restore", "Write a Redis snapshot's dump.rdb (and AOF) into a directory");
  restore->add_option("snapshot", r->snapshot, "Snapshot id, id prefix, \"latest\" or a time")->required();
  restore->add_option("--dir", r->dir, "The directory a redis-server will start from (created if missing)");
  restore->add_flag("--force", r->force, "Replace a dump.rdb or AOF already in the directory");
  restore->add_flag("--no-aof", r->no_aof, "Write dump.rdb only, even when the snapshot has an AOF");
  add_filter_options(restore, r->filter);
  restore->footer(
      "Stop the server first; then start it with the line printed at the end (its --dir is the directory).\n"
      "Example: lifeboat redis restore latest --dir /var/lib/redis && chown -R redis: /var/lib/redis");
  restore->callback([&g, r] { g.action = [&g, r] { return run_redis_restore(g, *r); }; });
}

}  // namespace lifeboat::cli
