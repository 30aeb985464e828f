// The local key cache: an unwrapped master key kept in a file readable only
// by its owner, for commands that run once per item on a database's
// critical path (wal-push, wal-fetch: PostgreSQL runs archive_command for
// every 16 MiB segment). The memory-hard key derivation (~0.2 s) is paid
// once; later calls open the repository in milliseconds.
//
// The file (JSON, mode 0600, in a 0700 directory) holds the location, the
// repository id, the key id, the master key, and an HMAC of the passphrase
// under a random salt. It is used only when the same passphrase is given,
// the file is the caller's own and unreadable to others, and keys/<key id>
// still exists (removing a key with `key remove` revokes its caches). Who
// can read the file can read the repository, exactly as with a password
// file beside it (docs/SECURITY.md).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "repo/repository.h"
#include "storage/backend.h"
#include "util/clock.h"
#include "util/status.h"

namespace lifeboat::repo {

// Opens the repository on `backend` through the cache file; kNotFound when
// there is no usable cache (absent, for another passphrase or repository,
// unsafe permissions, revoked key), so the caller opens with the
// passphrase. `backend` is taken only once a cache is found and tried; it
// is left to the caller otherwise.
Result<std::unique_ptr<Repository>> open_from_key_cache(const std::string& cache_file,
                                                        std::unique_ptr<storage::Backend>& backend,
                                                        std::string_view password, const Clock& clock);

// Writes (atomically replaces) the cache file for an open repository.
Status save_key_cache(const std::string& cache_file, const Repository& repo, std::string_view password);

}  // namespace lifeboat::repo
