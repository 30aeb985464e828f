#include "ops/init.h"

#include "ops/audit.h"

namespace lifeboat::ops {

Result<InitResult> init(const std::string& location, std::string_view password, const repo::CreateOptions& options,
                        const OpContext& ctx, const Clock& clock) {
  repo::CreateOptions o = options;
  if (o.hostname.empty()) o.hostname = ctx.hostname;
  if (o.username.empty()) o.username = ctx.username;
  LB_ASSIGN_OR_RETURN(auto repo, repo::Repository::create(location, password, o, clock));
  LB_RETURN_IF_ERROR(audit(*repo, ctx, "init", Status::ok(), {}, "key " + repo->key_id().hex()));
  return InitResult{repo->location(), repo->config().id, repo->key_id()};
}

}  // namespace lifeboat::ops
