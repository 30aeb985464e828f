// Snapshots: snapshots/<id>, one sealed JSON document per backup
// (docs/FORMAT.md, "snapshots"), aad = "snapshot" id[32].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "repo/id.h"
#include "util/status.h"

namespace lifeboat::repo {

struct SnapshotSummary {
  uint64_t files_new = 0;
  uint64_t files_changed = 0;
  uint64_t files_unmodified = 0;
  uint64_t dirs_new = 0;
  uint64_t dirs_changed = 0;
  uint64_t dirs_unmodified = 0;
  uint64_t data_blobs = 0;              // new data blobs stored
  uint64_t tree_blobs = 0;              // new tree blobs stored
  uint64_t data_added = 0;              // bytes added to the repository (after dedup and compression)
  uint64_t data_added_raw = 0;          // plaintext bytes of the new blobs
  uint64_t total_files_processed = 0;
  uint64_t total_dirs_processed = 0;
  uint64_t total_bytes_processed = 0;
  uint64_t errors = 0;                  // entries that could not be read
  int64_t backup_start_ns = 0;
  int64_t backup_end_ns = 0;
};

// Where a copied snapshot came from (`lifeboat copy`).
struct CopiedFrom {
  Id repository;  // the source repository's id (config)
  Id snapshot;    // the snapshot's id there
};

struct Snapshot {
  Id id;  // the object name; not part of the document
  int64_t time_ns = 0;
  std::string hostname;
  std::string username;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string kind = "files";  // files, postgres-base, postgres-wal, pg-dump, redis, ...
  std::vector<std::string> paths;
  std::vector<std::string> tags;
  std::vector<std::string> excludes;
  Id tree;
  std::optional<Id> parent;
  std::optional<Id> original;  // set by `repair snapshots`: the snapshot this one repairs
  std::optional<CopiedFrom> copied_from;
  std::string program_version;
  std::string source_json = "{}";  // source-specific recovery metadata (LSN, timeline, ...)
  SnapshotSummary summary;
};

std::string encode_snapshot(const Snapshot& s);
Result<Snapshot> decode_snapshot(std::string_view json, const Id& id);

}  // namespace lifeboat::repo
