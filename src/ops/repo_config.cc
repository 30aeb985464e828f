#include "ops/repo_config.h"

#include <fmt/format.h>

#include "ops/audit.h"
#include "ops/locking.h"

namespace lifeboat::ops {

Status set_lock_days(repo::Repository& repo, uint32_t days, const OpContext& ctx) {
  uint32_t current = repo.config().lock_days;
  if (days < current)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("the retention lock can only be raised: it is {} days, {} was asked", current, days));
  if (days == current) return Status::ok();
  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo, repo::LockKind::kExclusive, ctx, "config"));
  repo::RepoConfig c = repo.config();
  c.lock_days = days;
  LB_RETURN_IF_ERROR(repo.update_config(c));
  LB_RETURN_IF_ERROR(audit(repo, ctx, "config", Status::ok(), {},
                           fmt::format("lock_days {} -> {}", current, days)));
  return lock->release();
}

}  // namespace lifeboat::ops
