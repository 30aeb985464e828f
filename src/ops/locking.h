// The repository lock an operation takes, named after the operation and the
// process that runs it (repo/lock.h has the kinds and their conflicts).
#pragma once

#include <memory>
#include <string>

#include "ops/context.h"
#include "repo/lock.h"
#include "util/status.h"

namespace lifeboat::ops {

// kLocked, naming the holder, when a conflicting lock exists. A dry run
// writes nothing, not even a lock: then no lock is taken and the result is
// null.
Result<std::unique_ptr<repo::RepoLock>> lock_repository(repo::Repository& repo, repo::LockKind kind,
                                                        const OpContext& ctx, std::string operation,
                                                        bool dry_run = false);

}  // namespace lifeboat::ops
