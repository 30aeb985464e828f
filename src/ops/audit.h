// Recording operations in the repository's audit trail (repo/audit.h), and
// reading it back for `lifeboat log`.
#pragma once

#include <string>
#include <vector>

#include "ops/context.h"
#include "repo/audit.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::ops {

// Appends a record of `operation` by the process `ctx` describes.
Status audit(repo::Repository& repo, const OpContext& ctx, std::string operation, const Status& result,
             std::vector<std::string> snapshots = {}, std::string details = "");

}  // namespace lifeboat::ops
