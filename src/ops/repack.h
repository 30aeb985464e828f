// Repacking: copying blobs out of packs into new ones, in their stored
// (compressed) form, sealed again under the repository's current data key.
// Shared by prune (the used blobs of mostly unused packs) and key rotate
// --reencrypt (every blob).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::ops {

struct RepackSource {
  repo::Id pack;
  const std::vector<repo::PackEntry>* entries;
  const std::vector<bool>* keep;  // per entry; null: every entry
};

struct RepackStats {
  uint64_t packs_written = 0;
  uint64_t bytes_written = 0;
  uint64_t blobs = 0;
};

// Writes the new packs (data and trees apart, at the configured pack size)
// and returns them for the index; nothing is indexed or removed here.
// kCorrupt, naming the blob and pack, when a blob to keep does not open.
// `what` prefixes errors ("prune cannot repack").
Result<std::vector<repo::IndexPack>> repack(repo::Repository& repo, const std::vector<RepackSource>& sources,
                                            const OpContext& ctx, const char* what, RepackStats& stats);

// Writes `packs` as index files of at most `per_file` packs each.
Status write_index_batches(repo::Repository& repo, std::vector<repo::IndexPack> packs, size_t per_file);

}  // namespace lifeboat::ops
