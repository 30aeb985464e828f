#include "ops/verify_restore.h"

#include <fmt/format.h>

namespace lifeboat::ops {

Result<VerifyReport> verify_restore(repo::Repository& repo, const repo::Snapshot& snapshot,
                                    const VerifyOptions& options, const OpContext& ctx) {
  if (snapshot.kind == "pg-dump") return verify_pg_dump(repo, snapshot, options, ctx);
  if (snapshot.kind == "postgres-base") return verify_pg_base(repo, snapshot, options, ctx);
  if (snapshot.kind == "redis") return verify_redis(repo, snapshot, options, ctx);
  if (snapshot.kind == "mysql-dump") return verify_mysql_dump(repo, snapshot, options, ctx);
  return Status(ErrorCode::kUnsupported,
                fmt::format("snapshot {} is of kind \"{}\", which verify-restore cannot start a server for; use "
                            "`lifeboat check --read-data` and `lifeboat restore`",
                            snapshot.id.short_hex(), snapshot.kind));
}

}  // namespace lifeboat::ops
