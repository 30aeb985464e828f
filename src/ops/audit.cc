#include "ops/audit.h"

namespace lifeboat::ops {

Status audit(repo::Repository& repo, const OpContext& ctx, std::string operation, const Status& result,
             std::vector<std::string> snapshots, std::string details) {
  repo::AuditRecord r;
  r.hostname = ctx.hostname;
  r.username = ctx.username;
  r.operation = std::move(operation);
  r.result = result.is_ok() ? "ok" : "error: " + result.message();
  r.snapshots = std::move(snapshots);
  r.details = std::move(details);
  return repo::append_audit(repo, std::move(r));
}

}  // namespace lifeboat::ops
