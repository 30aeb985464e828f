// The repository lock an operation takes, named after the operation and the
// process that runs it (repo/lock.h has the kinds and their conflicts).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ops/context.h"
#include "repo/lock.h"
#include "util/status.h"

namespace lifeboat::ops {

// kLocked, naming the holder, when a conflicting lock exists; kPermission
// for anything but a shared lock under a write-only key. A dry run
// writes nothing, not even a lock: then no lock is taken and the result is
// null.
Result<std::unique_ptr<repo::RepoLock>> lock_repository(repo::Repository& repo, repo::LockKind kind,
                                                        const OpContext& ctx, std::string operation,
                                                        bool dry_run = false);

// The one line for an operation a write-only key may not run (kPermission).
Status write_only_refusal(std::string_view operation);

}  // namespace lifeboat::ops
