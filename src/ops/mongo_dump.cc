#include "ops/mongo_dump.h"

#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ops/dump.h"
#include "ops/locking.h"
#include "ops/snapshot_builder.h"
#include "sources/mongo/archive_scan.h"
#include "sources/mongo/mongo_tools.h"
#include "util/subprocess.h"

namespace lifeboat::ops {

namespace mongo = sources::mongo;

Result<MongoDumpResult> mongo_dump(repo::Repository& repo, const MongoDumpOptions& options, const OpContext& ctx) {
  if (!options.collections.empty() && options.database.empty())
    return Status(ErrorCode::kInvalidArgument, "--collection needs --db (the database it is in)");
  LB_RETURN_IF_ERROR(mongo::require_tool("mongodump"));
  LB_ASSIGN_OR_RETURN(auto config, mongo::ToolConfig::create(options.uri, options.tmp_root));
  std::string where = options.uri.empty() ? "mongodb://localhost:27017" : mongo::redact_uri(options.uri);
  std::vector<std::string> argv = {"mongodump"};
  for (auto& a : config->args()) argv.push_back(a);
  argv.push_back("--archive");
  if (!options.database.empty()) argv.push_back("--db=" + options.database);
  for (const auto& c : options.collections) argv.push_back("--collection=" + c);
  Subprocess::Options so;
  so.argv = argv;
  LB_ASSIGN_OR_RETURN(Subprocess child, Subprocess::start(so));

  // The first bytes before the repository is touched: an unreachable
  // server or a refused login ends mongodump before it writes anything.
  std::vector<uint8_t> first(64 << 10);
  size_t first_len = 0;
  while (first_len < first.size()) {
    auto got = child.read(first.data() + first_len, first.size() - first_len);
    if (!got.is_ok()) {
      child.kill();
      return got.status();
    }
    if (*got == 0) break;
    first_len += *got;
  }
  if (first_len == 0) {
    Status exited = child.wait();
    return (exited.is_ok() ? Status(ErrorCode::kIo, "mongodump wrote nothing") : exited)
        .with_context(fmt::format("the dump of {} failed (is the server running? are the URI's user and password "
                                  "right?), no snapshot was written",
                                  where));
  }

  LB_ASSIGN_OR_RETURN(auto builder, SnapshotBuilder::begin(repo, ctx, 0, options.bytes_done));
  auto& b = *builder;
  mongo::ArchiveScanner scan;
  size_t first_off = 0;
  ReadFn read = [&](uint8_t* buf, size_t n) -> Result<size_t> {
    size_t got = 0;
    if (first_off < first_len) {
      got = std::min(n, first_len - first_off);
      std::memcpy(buf, first.data() + first_off, got);
      first_off += got;
    } else {
      LB_ASSIGN_OR_RETURN(got, child.read(buf, n));
    }
    scan.feed(ByteSpan(buf, got));
    return got;
  };
  EntryMeta meta;
  meta.mode = 0600;
  meta.uid = ctx.uid;
  meta.gid = ctx.gid;
  auto stored = b.add_file("dump.archive", read, meta);
  if (!stored.is_ok()) child.kill();
  Status exited = child.wait();
  if (!stored.is_ok()) {
    b.abort();
    return stored.status().with_context("no snapshot was written");
  }
  if (!exited.is_ok()) {
    b.abort();
    return exited.with_context("the dump failed, no snapshot was written");
  }
  auto stats = scan.finish();
  if (!stats.is_ok()) {
    b.abort();
    return stats.status().with_context("no snapshot was written");
  }
  MongoDumpResult result;
  result.server_version = stats->server_version;
  result.archive_bytes = stored->size;
  result.documents = stats->total_documents();
  result.collections = stats->collections;

  nlohmann::json source = nlohmann::json::object();
  source["uri"] = where;
  source["server_version"] = stats->server_version;
  source["tool_version"] = stats->tool_version;
  if (!options.database.empty()) source["database"] = options.database;
  if (!options.collections.empty()) source["only_collections"] = options.collections;
  nlohmann::json colls = nlohmann::json::object();
  for (const auto& [db, cs] : stats->collections) {
    nlohmann::json per = nlohmann::json::object();
    for (const auto& [name, n] : cs) per[name] = n;
    colls[db] = per;
  }
  source["collections"] = colls;
  source["documents"] = result.documents;
  source["bytes"] = result.archive_bytes;

  SnapshotInfo info;
  info.kind = "mongo-dump";
  info.paths = {options.database.empty() ? where : where + " " + options.database};
  info.tags = options.tags;
  info.time_ns = options.time_ns;
  info.source_json = source.dump();
  info.audit_details = fmt::format("{} documents", result.documents);
  LB_ASSIGN_OR_RETURN(result.snapshot, b.commit(info));
  return result;
}

Result<MongoRestoreResult> mongo_restore(repo::Repository& repo, const repo::Snapshot& snapshot,
                                         const MongoRestoreOptions& options, const OpContext& ctx) {
  if (snapshot.kind != "mongo-dump")
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("snapshot {} is a {} snapshot, not a MongoDB dump: use `lifeboat restore`",
                              snapshot.id.short_hex(), snapshot.kind));
  LB_RETURN_IF_ERROR(mongo::require_tool("mongorestore"));
  LB_ASSIGN_OR_RETURN(auto config, mongo::ToolConfig::create(options.uri, options.tmp_root));
  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo, repo::LockKind::kShared, ctx, "restore"));
  LB_RETURN_IF_ERROR(repo.load_index());
  LB_ASSIGN_OR_RETURN(repo::Node node, find_entry(repo, snapshot, "/dump.archive"));
  std::vector<std::string> argv = {"mongorestore"};
  for (auto& a : config->args()) argv.push_back(a);
  argv.push_back("--archive");
  if (options.drop) argv.push_back("--drop");
  Subprocess::Options so;
  so.argv = argv;
  so.pipe = Subprocess::Pipe::kWrite;
  LB_ASSIGN_OR_RETURN(Subprocess child, Subprocess::start(so));
  MongoRestoreResult result;
  Status s = write_content(repo, node, [&](ByteSpan d) {
    result.bytes += d.size();
    return child.write(d);
  });
  child.close_pipe();
  Status exited = child.wait();
  if (!exited.is_ok()) return exited.with_context("the restore failed");
  if (!s.is_ok()) return s;
  LB_RETURN_IF_ERROR(lock->release());
  return result;
}

}  // namespace lifeboat::ops
