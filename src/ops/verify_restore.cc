#include "ops/verify_restore.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "util/posix_error.h"

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

void add_step(VerifyReport& report, const VerifyOptions& options, VerifyStep step) {
  if (options.on_step) options.on_step(step);
  report.steps.push_back(std::move(step));
}

VerifyStepTimer::VerifyStepTimer(VerifyReport& report, const VerifyOptions& options, std::string name)
    : report_(report), options_(options) {
  step_.name = std::move(name);
}

void VerifyStepTimer::finish(bool ok, std::string detail) {
  step_.passed = ok;
  step_.detail = std::move(detail);
  step_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  add_step(report_, options_, std::move(step_));
}

Result<std::string> make_scratch_dir(const std::string& scratch_root, const char* prefix) {
  std::string root = scratch_root;
  if (root.empty()) {
    const char* t = std::getenv("TMPDIR");
    root = t && *t ? t : "/tmp";
  }
  std::string tmpl = root + "/" + prefix + "XXXXXX";
  if (!::mkdtemp(tmpl.data())) return posix_error(errno, "unable to create a scratch directory in " + root);
  return tmpl;
}

}  // namespace lifeboat::ops
