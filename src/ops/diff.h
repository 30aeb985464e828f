// diff: what changed between two snapshots, from their trees alone (no
// file data is read; identical subtrees are skipped by id).
#pragma once

#include <functional>
#include <string>

#include "repo/repository.h"
#include "repo/snapshot.h"
#include "repo/tree.h"
#include "util/status.h"

namespace lifeboat::ops {

enum class Change : char {
  kAdded = '+',
  kRemoved = '-',
  kModified = 'M',  // file content changed
  kMetadata = 'U',  // only metadata (mode, owner, times, xattrs) changed
  kType = 'T',      // the entry changed type
};

struct DiffStats {
  uint64_t added = 0, removed = 0, modified = 0, metadata = 0, type_changed = 0;
  uint64_t added_bytes = 0, removed_bytes = 0;
};

Result<DiffStats> diff(const repo::Repository& repo, const repo::Snapshot& a, const repo::Snapshot& b,
                       const std::function<void(Change, const std::string& path, const repo::Node* before,
                                                const repo::Node* after)>& emit);

}  // namespace lifeboat::ops
