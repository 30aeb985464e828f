// key rotate --reencrypt: a new data key, everything sealed again under it
// now, and every older data key retired.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::ops {

struct ReencryptOptions {
  // Other key files wrap the retired keys and stop working: they are removed.
  // Without this flag, a repository with more than one key file is refused.
  bool remove_other_keys = false;
  size_t packs_per_index_file = 2000;
};

struct ReencryptResult {
  uint32_t epoch = 0;  // the one key left
  repo::Id key_id;     // the new key file (same password)
  uint64_t packs_read = 0;
  uint64_t packs_written = 0;
  uint64_t bytes_written = 0;
  uint64_t blobs = 0;
  uint64_t index_files = 0;
  uint64_t snapshots = 0;
  uint64_t log_records = 0;
  std::vector<std::string> removed_keys;  // short ids of the key files removed
};

// Takes the exclusive lock; refuses (kInvalidArgument) while prune has packs
// waiting for deletion ("run lifeboat prune first"). Order, for crash
// safety: new epoch; every pack copied under it and the index replaced;
// snapshots, audit records and config re-sealed in place; only then the old
// keys retired (a new key file for `password` first). Interrupted, the
// repository stays readable with the old key files.
Result<ReencryptResult> reencrypt(repo::Repository& repo, std::string_view password, const ReencryptOptions& options,
                                  const OpContext& ctx);

}  // namespace lifeboat::ops
