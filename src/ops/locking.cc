#include "ops/locking.h"

#include <fmt/format.h>

namespace lifeboat::ops {

Result<std::unique_ptr<repo::RepoLock>> lock_repository(repo::Repository& repo, repo::LockKind kind,
                                                        const OpContext& ctx, std::string operation, bool dry_run) {
  if (repo.keys().write_only() && kind != repo::LockKind::kShared)
    return write_only_refusal(operation);
  if (dry_run) return std::unique_ptr<repo::RepoLock>();
  // Before the lock is written: a shared key made by a full key since this
  // process opened the repository must seal this operation's metadata (its
  // lock too), or write-only hosts could not read it.
  LB_RETURN_IF_ERROR(repo.refresh_shared_key());
  LB_ASSIGN_OR_RETURN(auto lock,
                      repo::RepoLock::acquire(repo, kind, {ctx.hostname, ctx.username, ctx.pid, std::move(operation)}));
  LB_RETURN_IF_ERROR(repo.refresh_shared_key());
  return lock;
}

Status write_only_refusal(std::string_view operation) {
  return Status(ErrorCode::kPermission,
                fmt::format("this is a write-only key: it can back up, but `{}` needs a full key (a password that "
                            "opens the data)",
                            operation));
}

}  // namespace lifeboat::ops
