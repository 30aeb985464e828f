// dump: one file of a snapshot as a stream (to standard output, or into a
// program such as pg_restore or mariadb), without restoring it to disk.
#pragma once

#include <functional>
#include <string_view>

#include "repo/repository.h"
#include "repo/snapshot.h"
#include "repo/tree.h"
#include "util/status.h"

namespace lifeboat::ops {

// The entry at `path` ('/'-separated, leading '/' optional) in the
// snapshot; kNotFound naming the path and the snapshot when absent.
Result<repo::Node> find_entry(const repo::Repository& repo, const repo::Snapshot& snapshot, std::string_view path);

// Writes a regular file's content to `sink` in order. Blobs are read up to
// `ahead` at a time in parallel; each is authenticated before it is passed
// on, and a damaged one ends the dump with kCorrupt naming it.
Status write_content(const repo::Repository& repo, const repo::Node& file,
                     const std::function<Status(ByteSpan)>& sink, int ahead = 4);

}  // namespace lifeboat::ops
