// verify-restore of a pg-dump snapshot: a scratch PostgreSQL server (a
// temporary data directory, a unix socket in it, no TCP), the dump restored
// into it by pg_restore through pipes, the row counts compared with those
// recorded in the dump's snapshot, the user's assertions, amcheck on every
// B-tree index (with heapallindexed) and every table (verify_heapam), then
// the server stopped and its directory removed.
//
// The dump is restored with --no-owner --no-privileges --no-tablespaces:
// roles and tablespaces are not part of a database's dump, and the scratch
// server has none of them.
#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "ops/pg_dump.h"
#include "ops/pg_dump_restore.h"
#include "ops/verify_pg_steps.h"
#include "ops/verify_restore.h"
#include "sources/pg/dump_session.h"
#include "sources/pg/dump_tools.h"
#include "sources/pg/scratch.h"
#include "util/subprocess.h"
#include "util/time_format.h"

namespace lifeboat::ops {

namespace pg = sources::pg;

namespace {

class StepTimer {
 public:
  StepTimer() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

std::string value_text(const std::optional<std::string>& v) { return v ? *v : "NULL"; }

// Runs amcheck over the restored database; the step's detail or failure.
VerifyStep amcheck_step(pg::PgSession& s) {
  VerifyStep step;
  step.name = "amcheck";
  auto available = s.scalar("SELECT count(*) FROM pg_catalog.pg_available_extensions WHERE name = 'amcheck'");
  if (!available.is_ok()) {
    step.detail = available.status().message();
    return step;
  }
  if (value_text(*available) == "0") {
    step.passed = true;
    step.detail = "skipped: the amcheck extension is not installed with this server";
    return step;
  }
  if (Status c = s.exec("CREATE EXTENSION IF NOT EXISTS amcheck"); !c.is_ok()) {
    step.detail = c.message();
    return step;
  }
  const char* user_rel =
      "n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' AND c.relpersistence <> 't'";
  auto indexes = s.query(fmt::format(
      "SELECT c.oid, n.nspname || '.' || c.relname FROM pg_catalog.pg_index i "
      "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_am a ON a.oid = c.relam "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE a.amname = 'btree' AND i.indisvalid AND i.indisready AND {} ORDER BY 2",
      user_rel));
  if (!indexes.is_ok()) {
    step.detail = indexes.status().message();
    return step;
  }
  std::vector<std::string> problems;
  for (const auto& row : *indexes) {
    Status c = s.exec(fmt::format("SELECT public.bt_index_check({}::regclass, true)", value_text(row[0])));
    if (!c.is_ok()) problems.push_back(fmt::format("index {}: {}", value_text(row[1]), c.message()));
  }
  size_t tables = 0;
  auto has_heap = s.scalar("SELECT count(*) FROM pg_catalog.pg_proc WHERE proname = 'verify_heapam'");
  if (has_heap.is_ok() && value_text(*has_heap) != "0") {
    auto rels = s.query(fmt::format(
        "SELECT c.oid, n.nspname || '.' || c.relname FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') AND {} ORDER BY 2",
        user_rel));
    if (!rels.is_ok()) {
      step.detail = rels.status().message();
      return step;
    }
    for (const auto& row : *rels) {
      ++tables;
      auto bad = s.query(fmt::format("SELECT blkno, offnum, msg FROM public.verify_heapam({}::regclass) LIMIT 1",
                                     value_text(row[0])));
      if (!bad.is_ok())
        problems.push_back(fmt::format("table {}: {}", value_text(row[1]), bad.status().message()));
      else if (!bad->empty())
        problems.push_back(fmt::format("table {} block {} item {}: {}", value_text(row[1]), value_text((*bad)[0][0]),
                                       value_text((*bad)[0][1]), value_text((*bad)[0][2])));
    }
  }
  if (!problems.empty()) {
    step.detail = problems.front();
    if (problems.size() > 1) step.detail += fmt::format(" (and {} more)", problems.size() - 1);
    return step;
  }
  step.passed = true;
  step.detail = fmt::format("{} B-tree index{} and {} table{} intact", indexes->size(),
                            indexes->size() == 1 ? "" : "es", tables, tables == 1 ? "" : "s");
  return step;
}

VerifyStep counts_step(pg::PgSession& s, const PgDumpSource& source) {
  VerifyStep step;
  step.name = "counts";
  std::vector<std::string> wrong;
  for (const auto& t : source.tables) {
    auto n = pg::count_rows(s, pg::TableRef{t.schema, t.name});
    if (!n.is_ok()) {
      wrong.push_back(fmt::format("{}: {}", t.qualified(), n.status().message()));
      continue;
    }
    if (*n != t.rows) wrong.push_back(fmt::format("{} has {} rows, the dump recorded {}", t.qualified(), *n, t.rows));
  }
  if (!wrong.empty()) {
    step.detail = wrong.front();
    if (wrong.size() > 1) step.detail += fmt::format(" (and {} more table(s) differ)", wrong.size() - 1);
    return step;
  }
  step.passed = true;
  step.detail = fmt::format("{} table{}, {} rows, as recorded", source.tables.size(),
                            source.tables.size() == 1 ? "" : "s", source.total_rows());
  return step;
}

VerifyStep assertion_step(pg::PgSession& s, const VerifyAssertion& a) {
  VerifyStep step;
  step.name = "assert: " + a.query;
  auto rows = s.query(a.query);
  if (!rows.is_ok()) {
    step.detail = rows.status().message();
    return step;
  }
  if (rows->size() != 1 || (*rows)[0].size() != 1) {
    step.detail = fmt::format("expected one value, the query returned {} row(s) of {} column(s)", rows->size(),
                              rows->empty() ? 0 : (*rows)[0].size());
    return step;
  }
  std::string value = value_text((*rows)[0][0]);
  auto holds = expectation_holds(a.expect, value);
  if (!holds.is_ok()) {
    step.detail = holds.status().message();
    return step;
  }
  step.passed = *holds;
  step.detail = fmt::format("got {}, expected {}", value, a.expect);
  return step;
}

}  // namespace

VerifyStep pg_amcheck_step(pg::PgSession& s) { return amcheck_step(s); }
VerifyStep pg_assertion_step(pg::PgSession& s, const VerifyAssertion& a) { return assertion_step(s, a); }

Result<VerifyReport> verify_pg_dump(repo::Repository& repo, const repo::Snapshot& snapshot,
                                    const VerifyOptions& options, const OpContext& ctx) {
  LB_ASSIGN_OR_RETURN(PgDumpSource source, PgDumpSource::from_json(snapshot.source_json));
  VerifyReport report;
  report.kind = snapshot.kind;
  auto emit = [&](VerifyStep step) { add_step(report, options, std::move(step)); };

  // start: a server at least as new as the one dumped, and a pg_restore
  // that reads what pg_dump wrote (the server's own, else PATH's).
  StepTimer start_timer;
  pg::ScratchOptions so;
  so.root = options.scratch_root;
  so.bindir = options.bindir;
  so.run_as = options.run_as;
  so.keep = options.keep;
  so.min_major = pg::major_of_version_num(source.server_version_num);
  LB_ASSIGN_OR_RETURN(auto scratch, pg::ScratchPg::create(so));
  PgRestoreTool tool{scratch->program("pg_restore"), scratch->install().major};
  if (tool.major < pg::major_of_version(source.pg_dump_version) || find_program(tool.path).empty()) {
    LB_ASSIGN_OR_RETURN(tool, find_pg_restore(source, ""));
  }
  LB_RETURN_IF_ERROR(scratch->start());
  std::string db = source.database.empty() ? "restored" : source.database;
  {
    LB_ASSIGN_OR_RETURN(auto admin, pg::PgSession::connect(scratch->conninfo("postgres")));
    LB_RETURN_IF_ERROR(admin->exec(fmt::format("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'",
                                               admin->quote_ident(db))));
  }
  emit(VerifyStep{"start", true,
                  fmt::format("PostgreSQL {} in {}{}", scratch->install().version, scratch->dir(),
                              options.keep ? " (kept)" : ""),
                  start_timer.seconds()});

  auto finish = [&]() -> Result<VerifyReport> {
    StepTimer t;
    Status stopped = scratch->stop();
    std::string detail = !stopped.is_ok() ? stopped.message()
                         : options.keep   ? "stopped; files kept in " + scratch->dir()
                                          : "stopped and removed";
    emit(VerifyStep{"stop", stopped.is_ok(), detail, t.seconds()});
    if (ctx.cancelled()) return Status(ErrorCode::kCancelled, "verify-restore was interrupted");
    return report;
  };

  // restore
  {
    StepTimer t;
    std::atomic<uint64_t> bytes{0};
    PgRestoreRun run;
    run.spool_dir = options.scratch_root;
    run.bytes_done = &bytes;
    run.args = {"--dbname=" + scratch->conninfo(db), "--no-password", "--exit-on-error", "--no-owner",
                "--no-privileges", "--no-tablespaces"};
    if (source.format == "directory") {
      unsigned jobs = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
      run.args.push_back(fmt::format("--jobs={}", jobs));
    }
    Status s = run_pg_restore(repo, snapshot, source, tool, run, ctx);
    if (s.code() == ErrorCode::kCancelled) return finish();
    emit(VerifyStep{"restore", s.is_ok(),
                    s.is_ok() ? fmt::format("{} of {} dump restored into database {}", format_bytes(bytes.load()),
                                            source.format, db)
                              : s.message(),
                    t.seconds()});
    if (!s.is_ok()) return finish();
  }

  auto session = pg::PgSession::connect(scratch->conninfo(db));
  if (!session.is_ok()) {
    emit(VerifyStep{"connect", false, session.status().message(), 0});
    return finish();
  }
  {
    StepTimer t;
    VerifyStep step = counts_step(**session, source);
    step.seconds = t.seconds();
    emit(std::move(step));
  }
  for (const auto& a : options.assertions) {
    if (ctx.cancelled()) return finish();
    StepTimer t;
    VerifyStep step = assertion_step(**session, a);
    step.seconds = t.seconds();
    emit(std::move(step));
  }
  if (ctx.cancelled()) return finish();
  {
    StepTimer t;
    VerifyStep step = amcheck_step(**session);
    step.seconds = t.seconds();
    emit(std::move(step));
  }
  session->reset();
  return finish();
}

}  // namespace lifeboat::ops
