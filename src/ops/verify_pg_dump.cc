// Placeholder until this verifier lands (issue 5, in progress).
#include "ops/verify_restore.h"

namespace lifeboat::ops {
Result<VerifyReport> verify_pg_dump(repo::Repository&, const repo::Snapshot& snapshot, const VerifyOptions&,
                               const OpContext&) {
  return Status(ErrorCode::kUnsupported, "verify-restore of " + snapshot.kind + " snapshots is not built yet");
}
}  // namespace lifeboat::ops
