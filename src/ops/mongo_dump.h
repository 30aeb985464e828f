// mongo dump / restore: `mongodump --archive` streamed into a snapshot as
// /dump.archive, and `mongorestore --archive` fed from it.
//
// Snapshot (kind "mongo-dump"): /dump.archive. source_json: {"uri" (without
// password), "server_version", "tool_version", "databases": [...],
// "collections": {"db": {"coll": documents}}, "documents", "bytes"}; the
// counts are read from the archive as it passes
// (sources/mongo/archive_scan.h).
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "repo/snapshot.h"
#include "util/status.h"

namespace lifeboat::ops {

struct MongoDumpOptions {
  std::string uri;              // mongodb://... (may hold a password); empty: the tools' default server
  std::string database;         // --db; empty: all databases
  std::vector<std::string> collections;  // --collection (with database); empty: all
  std::string tmp_root;         // where the private tool config goes ("" : /tmp)
  std::vector<std::string> tags;
  std::optional<int64_t> time_ns;
  std::atomic<uint64_t>* bytes_done = nullptr;
};

struct MongoDumpResult {
  repo::Snapshot snapshot;
  std::string server_version;
  uint64_t archive_bytes = 0;
  uint64_t documents = 0;
  std::map<std::string, std::map<std::string, uint64_t>> collections;
};

// kNotFound (one line saying where the tools come from) when mongodump is
// not installed; a dump that fails writes no snapshot.
Result<MongoDumpResult> mongo_dump(repo::Repository& repo, const MongoDumpOptions& options, const OpContext& ctx);

struct MongoRestoreOptions {
  std::string uri;
  bool drop = false;  // mongorestore --drop: replace the collections the archive has
  std::string tmp_root;
};

struct MongoRestoreResult {
  uint64_t bytes = 0;
};

Result<MongoRestoreResult> mongo_restore(repo::Repository& repo, const repo::Snapshot& snapshot,
                                         const MongoRestoreOptions& options, const OpContext& ctx);

}  // namespace lifeboat::ops
