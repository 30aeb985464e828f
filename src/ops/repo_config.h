// Repository settings that may change after init (`lifeboat config`).
#pragma once

#include <cstdint>

#include "ops/context.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::ops {

// Sets the retention lock. It can only be raised: lowering it would let a
// stolen password delete recent backups (kInvalidArgument).
Status set_lock_days(repo::Repository& repo, uint32_t days, const OpContext& ctx);

}  // namespace lifeboat::ops
