// lifeboat mongo dump | restore
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/progress.h"
#include "ops/mongo_dump.h"
#include "ops/snapshot_select.h"
#include "repo/snapshot_json.h"
#include "sources/mongo/mongo_tools.h"
#include "util/time_format.h"

namespace lifeboat::cli {

namespace {

struct MongoDumpArgs {
  std::string uri;
  std::string db;
  std::vector<std::string> collections;
  std::vector<std::string> tags;
  std::string hostname;
  std::string time;
};

struct MongoRestoreArgs {
  std::string snapshot;
  std::string uri;
  bool drop = false;
  std::vector<std::string> tags;
};

// --uri, else MONGODB_URI (where a URI with a password belongs).
std::string uri_or_env(const std::string& given) {
  if (!given.empty()) return given;
  const char* e = std::getenv("MONGODB_URI");
  return e ? e : "";
}

std::string tmp_root() {
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

Result<repo::Snapshot> find_mongo_snapshot(const repo::Repository& repo, const std::string& ref,
                                           const ops::SnapshotFilter& filter) {
  if (ref != "latest") return ops::find_snapshot(repo, ref, filter);
  LB_ASSIGN_OR_RETURN(auto all, ops::list_snapshots(repo, filter));
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->kind == "mongo-dump") return *it;
  return Status(ErrorCode::kNotFound, "there is no MongoDB dump snapshot: make one with `lifeboat mongo dump`");
}

int run_dump(Globals& g, const MongoDumpArgs& a) {
  ops::MongoDumpOptions o;
  o.uri = uri_or_env(a.uri);
  o.database = a.db;
  o.collections = a.collections;
  o.tmp_root = tmp_root();
  o.tags = a.tags;
  if (Status s = check_snapshot_options(a.tags, a.time, &o.time_ns); !s.is_ok()) return fail(s);
  // A missing tool is said before the repository is opened.
  if (Status s = sources::mongo::require_tool("mongodump"); !s.is_ok()) return fail(s);
  enable_graceful_interrupt();
  ops::OpContext ctx = make_context();
  if (!a.hostname.empty()) ctx.hostname = a.hostname;
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  auto r = with_stream_progress(show_progress(g), "archive ", [&](std::atomic<uint64_t>* bytes) {
    o.bytes_done = bytes;
    return ops::mongo_dump(**repo, o, ctx);
  });
  if (!r.is_ok()) return fail(r.status());
  const auto& s = r->snapshot;
  const auto& m = s.summary;
  if (g.json) {
    nlohmann::json j = saved_snapshot_json(s);
    j["server_version"] = r->server_version;
    j["archive_bytes"] = r->archive_bytes;
    j["documents"] = r->documents;
    nlohmann::json c = nlohmann::json::object();
    for (const auto& [db, cs] : r->collections) {
      nlohmann::json per = nlohmann::json::object();
      for (const auto& [name, n] : cs) per[name] = n;
      c[db] = per;
    }
    j["collections"] = c;
    fmt::print("{}\n", j.dump());
    return kExitOk;
  }
  if (!g.quiet) {
    size_t colls = 0;
    for (const auto& [db, cs] : r->collections) colls += cs.size();
    auto n = [](size_t count, const char* what) { return fmt::format("{} {}{}", count, what, count == 1 ? "" : "s"); };
    fmt::print("mongodump of MongoDB {}: {}, {}, {}, {}\n", r->server_version, format_bytes(r->archive_bytes),
               n(r->collections.size(), "database"), n(colls, "collection"), n(r->documents, "document"));
    fmt::print("Added to the repository: {} ({} before compression) in {}\n", format_bytes(m.data_added),
               format_bytes(m.data_added_raw), format_duration(m.backup_end_ns - m.backup_start_ns));
  }
  fmt::print("snapshot {} saved\n", s.id.short_hex());
  return kExitOk;
}

int run_mongo_restore(Globals& g, const MongoRestoreArgs& a) {
  if (Status s = sources::mongo::require_tool("mongorestore"); !s.is_ok()) return fail(s);
  enable_graceful_interrupt();
  ops::OpContext ctx = make_context();
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  ops::SnapshotFilter filter;
  filter.tags = a.tags;
  auto snap = find_mongo_snapshot(**repo, a.snapshot, filter);
  if (!snap.is_ok()) return fail(snap.status());
  ops::MongoRestoreOptions o;
  o.uri = uri_or_env(a.uri);
  o.drop = a.drop;
  o.tmp_root = tmp_root();
  auto r = ops::mongo_restore(**repo, *snap, o, ctx);
  if (!r.is_ok()) return fail(r.status());
  if (g.json) {
    nlohmann::json j;
    j["message_type"] = "summary";
    j["snapshot_id"] = snap->id.hex();
    j["bytes"] = r->bytes;
    fmt::print("{}\n", j.dump());
    return kExitOk;
  }
  fmt::print("snapshot {} restored ({})\n", snap->id.short_hex(), format_bytes(r->bytes));
  return kExitOk;
}

}  // namespace

void add_mongo_command(CLI::App& app, Globals& g) {
  auto* mongo = app.add_subcommand("mongo", "MongoDB: dumps (mongodump --archive) and their restore");
  mongo->require_subcommand(1);

  auto d = std::make_shared<MongoDumpArgs>();
  auto* dump = mongo->add_subcommand("dump", "Store a mongodump --archive of a server as a snapshot");
  dump->add_option("--uri", d->uri,
                   "Connection string (env MONGODB_URI, where one with a password belongs; default "
                   "mongodb://localhost:27017)");
  dump->add_option("--db", d->db, "Only this database");
  dump->add_option("--collection", d->collections, "Only this collection of --db (repeatable)");
  dump->add_option("--tag", d->tags, "Tag the snapshot (repeatable)")->allow_extra_args(false);
  dump->add_option("--hostname", d->hostname, "Host name to record (default: this machine's)");
  dump->add_option("--time", d->time, "Record this time for the snapshot instead of now");
  dump->footer(
      "Needs mongodump from the MongoDB Database Tools (100.3 or newer; Debian does not package them).\n"
      "The URI reaches mongodump through a private file, never its command line. Documents per collection are\n"
      "counted from the archive and recorded.\n"
      "Example: MONGODB_URI='mongodb://backup:secret@db1:27017/?authSource=admin' lifeboat mongo dump");
  dump->callback([&g, d] { g.action = [&g, d] { return run_dump(g, *d); }; });

  auto r = std::make_shared<MongoRestoreArgs>();
  auto* restore = mongo->add_subcommand("restore", "Load a MongoDB dump snapshot into a server (mongorestore)");
  restore->add_option("snapshot", r->snapshot, "Snapshot id, id prefix, \"latest\" or a time")->required();
  restore->add_option("--uri", r->uri, "Connection string (env MONGODB_URI; default mongodb://localhost:27017)");
  restore->add_flag("--drop", r->drop, "Drop each collection before restoring it (mongorestore --drop)");
  restore->add_option("--tag", r->tags, "With \"latest\": the newest dump with this tag");
  restore->callback([&g, r] { g.action = [&g, r] { return run_mongo_restore(g, *r); }; });
}

}  // namespace lifeboat::cli
