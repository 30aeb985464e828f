// Key management: several passphrases for one repository (`lifeboat key`).
// Every full key file wraps the same master key, so adding or removing a
// passphrase never touches the data. A write-only key (for backup hosts)
// can create snapshots but open none of the data (docs/FORMAT.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::ops {

struct KeyAddOptions {
  std::string hostname;  // recorded in the key file (default: ctx.hostname)
  std::string username;  // (default: ctx.username)
  crypto::ScryptParams kdf;
  // A write-only key. The first one makes the shared key and re-seals the
  // metadata under it (reseal_metadata()), under the exclusive lock.
  bool write_only = false;
};

// The key files, oldest first.
Result<std::vector<repo::Repository::KeyListing>> key_list(const repo::Repository& repo);
Result<repo::Id> key_add(repo::Repository& repo, std::string_view new_password, const KeyAddOptions& options,
                         const OpContext& ctx);
// Rewrites config, index files, locks and audit records
// that are not sealed the way this process seals metadata now (under the
// shared key once there is one). Returns how many it rewrote.
Result<size_t> reseal_metadata(repo::Repository& repo, const OpContext& ctx);

// `ref` is a key id or a unique prefix of one (>= 4 hex digits).
Result<repo::Id> key_remove(repo::Repository& repo, std::string_view ref, const OpContext& ctx);
// Adds a key under `new_password`, then removes the key the repository was
// opened with. Returns the new key's id.
Result<repo::Id> key_passwd(repo::Repository& repo, std::string_view new_password, const KeyAddOptions& options,
                            const OpContext& ctx);

// Starts a new data-key epoch (repo::Repository::rotate_data_key) under the
// exclusive lock, and audits it. Returns the new epoch.
Result<uint32_t> key_rotate(repo::Repository& repo, const OpContext& ctx);

}  // namespace lifeboat::ops
