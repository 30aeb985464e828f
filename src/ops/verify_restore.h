// verify-restore: restore a snapshot into a scratch instance (a temporary
// PostgreSQL data directory on a free port, a temporary redis-server, a
// temporary MariaDB), compare what it holds with the counts recorded at
// backup time, run the user's assertions, tear the instance down, and report
// each step with its time. The runbooks' weekly restore test as one call.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "ops/context.h"
#include "repo/repository.h"
#include "repo/snapshot.h"
#include "util/status.h"

namespace lifeboat::ops {

struct VerifyAssertion {
  std::string query;   // SQL (PostgreSQL, MariaDB) or a Redis command
  std::string expect;  // ">0", "=42", "<=10", "!=0", or a literal the single result must equal
};

struct VerifyStep;

struct VerifyOptions {
  std::vector<VerifyAssertion> assertions;
  std::string scratch_root;  // where scratch instances live; empty: $TMPDIR or /tmp
  bool keep = false;         // leave the scratch instance's files (for a post-mortem)
  std::string bindir;        // the server's programs (e.g. /usr/lib/postgresql/16/bin); empty: search
  std::string run_as;        // when running as root: the OS user a server that refuses root runs as; empty: its default
  std::function<void(const VerifyStep&)> on_step;
  // Base backups: restore_command for the scratch server (lifeboat wal-fetch
  // with this repository and passphrase), and its environment.
  std::string pg_restore_command;
  std::vector<std::pair<std::string, std::string>> pg_server_env;  // called as each step ends (progress); may be null
};

struct VerifyStep {
  std::string name;     // "restore", "start", "counts", "assert: SELECT ...", "amcheck", "stop"
  bool passed = false;
  std::string detail;   // what was found, or why it failed
  double seconds = 0;
};

struct VerifyReport {
  std::string kind;  // the snapshot's kind
  std::vector<VerifyStep> steps;
  bool passed() const {
    for (const auto& s : steps)
      if (!s.passed) return false;
    return !steps.empty();
  }
};

// Dispatches on snapshot.kind; kUnsupported for a kind nothing can verify
// (plain files: use `check --read-data` and `restore`). A failed check is a
// report with a failed step, not an error; an error means the verification
// could not run (no server binaries, no free port, ...).
Result<VerifyReport> verify_restore(repo::Repository& repo, const repo::Snapshot& snapshot,
                                    const VerifyOptions& options, const OpContext& ctx);

// One per kind, each in its source's ops file.
Result<VerifyReport> verify_pg_dump(repo::Repository& repo, const repo::Snapshot& snapshot,
                                    const VerifyOptions& options, const OpContext& ctx);      // "pg-dump"
Result<VerifyReport> verify_pg_base(repo::Repository& repo, const repo::Snapshot& snapshot,
                                    const VerifyOptions& options, const OpContext& ctx);      // "postgres-base"
Result<VerifyReport> verify_redis(repo::Repository& repo, const repo::Snapshot& snapshot,
                                  const VerifyOptions& options, const OpContext& ctx);        // "redis"
Result<VerifyReport> verify_mysql_dump(repo::Repository& repo, const repo::Snapshot& snapshot,
                                       const VerifyOptions& options, const OpContext& ctx);   // "mysql-dump"

// Shared by the verifiers: adds a finished step to the report and passes it
// to options.on_step (progress).
void add_step(VerifyReport& report, const VerifyOptions& options, VerifyStep step);

// Times a step from its construction until pass() or fail(), which add it.
class VerifyStepTimer {
 public:
  VerifyStepTimer(VerifyReport& report, const VerifyOptions& options, std::string name);
  void pass(std::string detail) { finish(true, std::move(detail)); }
  void fail(std::string detail) { finish(false, std::move(detail)); }

 private:
  void finish(bool ok, std::string detail);
  VerifyReport& report_;
  const VerifyOptions& options_;
  VerifyStep step_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// A new directory `<prefix>XXXXXX` for a scratch instance, under
// `scratch_root` ($TMPDIR or /tmp when empty).
Result<std::string> make_scratch_dir(const std::string& scratch_root, const char* prefix);

// Evaluates `expect` against a single result value (exposed for tests).
Result<bool> expectation_holds(std::string_view expect, std::string_view value);

}  // namespace lifeboat::ops
