// check: verify the repository.
//
// Structure (always): every index file opens; every indexed pack exists and
// is large enough; every snapshot opens; every tree of every snapshot loads
// and every blob a file names is in the index.
// Data (--read-data, or a random share with --read-data-subset): each
// selected pack is read whole; its header authenticates and tiles the pack;
// every blob authenticates, decompresses to its recorded length and hashes
// to its id; the index agrees with the header.
// Damaged or missing blobs are reported with their pack and with the
// snapshots and paths they affect.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::ops {

struct CheckOptions {
  bool read_data = false;
  double read_fraction = 1.0;       // with read_data: share of packs to read (0..1]
  std::optional<uint64_t> seed;     // for the random subset; chosen and reported if unset
  int workers = 0;
};

struct CheckProgress {
  std::atomic<uint64_t> packs_total{0};
  std::atomic<uint64_t> packs_done{0};
  std::atomic<uint64_t> bytes_done{0};
};

struct DamagedBlob {
  repo::Id blob;
  repo::Id pack;
  std::string reason;
  std::vector<std::string> affected;  // "snapshot 1a2b3c4d: /path/to/file"
};

struct CheckResult {
  uint64_t snapshots = 0;
  uint64_t index_files = 0;
  uint64_t packs = 0;
  uint64_t trees = 0;
  uint64_t blobs = 0;
  uint64_t packs_read = 0;
  uint64_t bytes_read = 0;
  uint64_t seed = 0;
  std::vector<std::string> errors;  // each a problem; non-empty means the check failed
  std::vector<std::string> notes;   // harmless findings (packs left by an interrupted backup)
  std::vector<DamagedBlob> damaged;
  bool ok() const { return errors.empty(); }
};

Result<CheckResult> check(repo::Repository& repo, const CheckOptions& options, const OpContext& ctx,
                          CheckProgress* progress = nullptr);

}  // namespace lifeboat::ops
