// copy: snapshots from one repository into another (a second region, a
// second cloud), transferring only the blobs the destination lacks.
//
// Two paths, chosen per repository pair:
//   related    the destination was made with `init --from-repo SOURCE`: it
//              shares the source's blob-id key and chunker parameters, so a
//              blob has the same id in both. A blob the destination lacks is
//              read, opened and sealed again under the destination's keys;
//              trees and snapshots keep their ids' meaning. Copy cost grows
//              with the new data only.
//   unrelated  different id keys (or chunker parameters): every copied file is
//              read and cut again with the destination's chunker, so that it
//              deduplicates against the destination's own backups, and trees
//              are rewritten with the new ids. Copy cost grows with the
//              snapshots' size (files already copied in the same run are not
//              read twice).
// Each copy records where it came from ("copied_from": source repository id
// and snapshot id), so running copy again copies nothing; on the related
// path a snapshot the destination already holds under another id (same
// time, host, paths and tree) is not copied either.
#pragma once

#include <string>
#include <vector>

#include "ops/context.h"
#include "ops/snapshot_select.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::ops {

struct CopyOptions {
  std::vector<std::string> snapshots;  // ids/prefixes/"latest"; empty: all (that match the filter)
  SnapshotFilter filter;
  bool dry_run = false;
  int workers = 2;
};

struct CopiedSnapshot {
  repo::Id source;
  repo::Id copy;  // zero in a dry run
};

struct CopyResult {
  bool related = false;  // same blob ids in both repositories
  std::vector<CopiedSnapshot> copied;
  std::vector<repo::Id> already_there;  // source snapshots the destination has
  uint64_t blobs_copied = 0;            // stored anew in the destination
  uint64_t blobs_present = 0;           // the destination had them already
  uint64_t bytes_read = 0;              // plaintext read from the source
  uint64_t bytes_added = 0;             // packed bytes written to the destination
  // The WAL archive of every cluster with a base backup among the selected
  // snapshots (copied or there already): files the destination lacked.
  uint64_t wal_files_copied = 0;
  uint64_t wal_bytes_copied = 0;
};

// Takes a shared lock on both repositories. `source` and `dest` must be
// different repositories (kInvalidArgument when their ids are equal).
Result<CopyResult> copy(repo::Repository& source, repo::Repository& dest, const CopyOptions& options,
                        const OpContext& ctx);

}  // namespace lifeboat::ops
