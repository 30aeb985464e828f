// Steps shared by the PostgreSQL verifiers (pg-dump and base backups).
#pragma once

#include "ops/verify_restore.h"
#include "sources/pg/dump_session.h"

namespace lifeboat::ops {

// amcheck on every B-tree index (heapallindexed) and table (verify_heapam);
// passes with a note when the extension is not available.
VerifyStep pg_amcheck_step(sources::pg::PgSession& session);
// One user assertion: the query's single value against `expect`.
VerifyStep pg_assertion_step(sources::pg::PgSession& session, const VerifyAssertion& assertion);

}  // namespace lifeboat::ops
