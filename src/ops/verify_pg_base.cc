// verify-restore of a PostgreSQL base backup: the base backup restored into
// a scratch data directory (with the WAL archive, through wal-fetch),
// checked against its own manifest (pg_verifybackup), started on a private
// unix socket, recovered to the end of the archive and promoted; then the
// user's assertions and amcheck run in every database, and the server is
// stopped and its directory removed.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "ops/pg_restore.h"
#include "ops/verify_pg_steps.h"
#include "ops/verify_restore.h"
#include "sources/pg/dump_session.h"
#include "sources/pg/scratch.h"
#include "util/subprocess.h"

namespace lifeboat::ops {

namespace pg = sources::pg;

Result<VerifyReport> verify_pg_base(repo::Repository& repo, const repo::Snapshot& snapshot,
                                    const VerifyOptions& options, const OpContext& ctx) {
  LB_ASSIGN_OR_RETURN(PgBaseInfo info, pg_base_info(snapshot));
  if (options.pg_restore_command.empty())
    return Status(ErrorCode::kInvalidArgument, "verify-restore of a base backup needs a restore_command");
  VerifyReport report;
  report.kind = snapshot.kind;
  auto emit = [&](VerifyStep step) { add_step(report, options, std::move(step)); };
  auto timed = [](auto&& fn) {
    auto t0 = std::chrono::steady_clock::now();
    VerifyStep step = fn();
    step.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return step;
  };

  LB_ASSIGN_OR_RETURN(std::string dir, make_scratch_dir(options.scratch_root, "lifeboat-verify-pg-"));
  ::chmod(dir.c_str(), 0755);  // the server's user reaches its socket and data directory
  std::string pgdata = dir + "/data";
  LB_ASSIGN_OR_RETURN(int port, pg::free_tcp_port());

  PgRestoreOptions ro;
  ro.pgdata = pgdata;
  ro.snapshot = snapshot.id.hex();
  ro.restore_command = options.pg_restore_command;
  ro.server_env = options.pg_server_env;
  ro.archive_off = true;
  ro.port = port;
  ro.pg_bindir = options.bindir;
  ro.extra_conf = {"listen_addresses = ''", fmt::format("unix_socket_directories = '{}'", dir), "fsync = off",
                   "hot_standby = on"};
  bool restored = false, running = false;
  PgRestoreResult result;
  emit(timed([&] {
    VerifyStep step;
    step.name = "restore";
    auto r = pg_restore(repo, ro, ctx);
    if (!r.is_ok()) {
      step.detail = r.status().message();
      return step;
    }
    result = std::move(*r);
    restored = true;
    // The server (running as the files' owner) makes its socket here.
    struct stat owner;
    if (::stat((pgdata + "/PG_VERSION").c_str(), &owner) == 0 && ::geteuid() == 0)
      (void)::chown(dir.c_str(), owner.st_uid, owner.st_gid);
    step.passed = true;
    step.detail = fmt::format("base backup {}: {} files, {} bytes", snapshot.id.short_hex(), result.files,
                              result.bytes);
    return step;
  }));
  if (restored) {
    // The restored files against the server's own manifest (checksums of
    // every file; the recovery settings lifeboat wrote are ignored by it).
    std::string bindir = ro.pg_bindir.empty() ? fmt::format("/usr/lib/postgresql/{}/bin", info.pg_version_num / 10000)
                                              : ro.pg_bindir;
    if (!find_program(bindir + "/pg_verifybackup").empty()) {
      emit(timed([&] {
        VerifyStep step;
        step.name = "manifest";
        auto out = run_capture({bindir + "/pg_verifybackup", "-n", "-q", pgdata});
        step.passed = out.is_ok();
        step.detail = out.is_ok() ? "every file matches the base backup's manifest (pg_verifybackup)"
                                  : out.status().message();
        return step;
      }));
    }
    emit(timed([&] {
      VerifyStep step;
      step.name = "recover";
      auto secs = pg_recover(pgdata, ro, info.pg_version_num, ctx);
      running = true;
      if (!secs.is_ok()) {
        step.detail = secs.status().message();
        return step;
      }
      step.passed = true;
      step.detail = "replayed the archived WAL and promoted";
      return step;
    }));
  }
  if (running && report.passed()) {
    std::string dsn = fmt::format("host={} port={} dbname=postgres user=postgres", dir, port);
    auto session = pg::PgSession::connect(dsn);
    if (!session.is_ok()) {
      VerifyStep step;
      step.name = "connect";
      step.detail = session.status().message();
      emit(step);
    } else {
      for (const auto& a : options.assertions) emit(timed([&] { return pg_assertion_step(**session, a); }));
      auto dbs = (*session)->query("SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1");
      std::vector<std::string> names;
      if (dbs.is_ok())
        for (const auto& row : *dbs)
          if (row[0]) names.push_back(*row[0]);
      for (const auto& db : names) {
        auto s = pg::PgSession::connect(fmt::format("host={} port={} dbname='{}' user=postgres", dir, port, db));
        if (!s.is_ok()) continue;
        VerifyStep step = timed([&] { return pg_amcheck_step(**s); });
        step.name = "amcheck " + db;
        emit(step);
      }
    }
  }
  emit(timed([&] {
    VerifyStep step;
    step.name = "stop";
    Status stopped = running ? pg_stop(pgdata, ro, info.pg_version_num) : Status::ok();
    std::error_code ec;
    if (!options.keep) std::filesystem::remove_all(dir, ec);
    step.passed = stopped.is_ok();
    step.detail = stopped.is_ok() ? (options.keep ? "stopped; kept " + dir : "stopped and removed")
                                  : stopped.message();
    return step;
  }));
  return report;
}

}  // namespace lifeboat::ops
