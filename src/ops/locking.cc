#include "ops/locking.h"

namespace lifeboat::ops {

Result<std::unique_ptr<repo::RepoLock>> lock_repository(repo::Repository& repo, repo::LockKind kind,
                                                        const OpContext& ctx, std::string operation, bool dry_run) {
  if (dry_run) return std::unique_ptr<repo::RepoLock>();
  return repo::RepoLock::acquire(repo, kind, {ctx.hostname, ctx.username, ctx.pid, std::move(operation)});
}

}  // namespace lifeboat::ops
