// The repository config object ("config"), sealed with the master key.
#pragma once

#include <cstdint>
#include <string>

#include "chunk/fastcdc.h"
#include "compress/zstd.h"
#include "repo/id.h"
#include "util/status.h"

namespace lifeboat::repo {

inline constexpr uint32_t kFormatVersion = 1;

struct RepoConfig {
  uint32_t version = kFormatVersion;
  Id id;  // random; names the local cache directory
  int64_t created_ns = 0;
  chunk::ChunkerParams chunker;
  int compression_level = compress::kDefaultLevel;  // zstd level; 0 stores blobs raw
  uint32_t pack_size = 16 * 1024 * 1024;  // target size of data packs
  // Retention lock: snapshots younger than this many days cannot be
  // forgotten (and their data not pruned). It can only be raised.
  uint32_t lock_days = 0;

  std::string to_json() const;
  // kCorrupt on malformed input, kUnsupported for a newer format version.
  static Result<RepoConfig> from_json(std::string_view text);
};

}  // namespace lifeboat::repo
