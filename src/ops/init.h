// init: create a repository.
#pragma once

#include <string>

#include "ops/context.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::ops {

struct InitResult {
  std::string location;
  repo::Id repository_id;
  repo::Id key_id;
};

Result<InitResult> init(const std::string& location, std::string_view password, const repo::CreateOptions& options,
                        const OpContext& ctx, const Clock& clock);

}  // namespace lifeboat::ops
