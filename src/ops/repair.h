// repair: rebuilding what can be rebuilt from the packs themselves.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::ops {

struct RepairIndexOptions {
  bool dry_run = false;
  size_t packs_per_index_file = 2000;
};

struct RepairIndexResult {
  uint64_t packs_indexed = 0;
  uint64_t blobs_indexed = 0;
  uint64_t index_files_written = 0;
  uint64_t index_files_removed = 0;
  std::vector<std::string> damaged_packs;  // headers that do not authenticate: their blobs are lost
};

// Reads every pack's header and writes a complete new index from them, then
// removes the index files that existed before (damaged ones included). A
// pack whose header is damaged is reported and left alone. Takes the
// exclusive lock. Interrupted, it leaves old and new index files side by
// side, which is consistent (entries are identical or refer to valid packs).
Result<RepairIndexResult> repair_index(repo::Repository& repo, const RepairIndexOptions& options,
                                       const OpContext& ctx);

}  // namespace lifeboat::ops
