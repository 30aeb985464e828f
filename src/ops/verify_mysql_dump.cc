// verify-restore of a "mysql-dump" snapshot: a scratch MariaDB (its own data
// directory and socket), the dump streamed into it, every table's row count
// compared with the count recorded from the dump at backup time, the
// user's SQL assertions, then the server is stopped and removed.
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "ops/locking.h"
#include "ops/mysql_dump.h"
#include "ops/verify_restore.h"
#include "sources/mysql/mysql_client.h"
#include "sources/mysql/scratch_mariadb.h"
#include "util/posix_error.h"

namespace lifeboat::ops {

namespace mysql = sources::mysql;

namespace {

bool system_schema(const std::string& db) {
  return db == "mysql" || db == "sys" || db == "performance_schema" || db == "information_schema";
}

}  // namespace

Result<VerifyReport> verify_mysql_dump(repo::Repository& repo, const repo::Snapshot& snapshot,
                                       const VerifyOptions& options, const OpContext& ctx) {
  if (mysql::find_server_binary().empty())
    return Status(ErrorCode::kNotFound,
                  "mariadbd was not found: verify-restore of a MariaDB/MySQL dump starts a scratch server; install "
                  "it (Debian: apt install mariadb-server) or put it in PATH");
  LB_ASSIGN_OR_RETURN(std::string client, mysql::find_client_tool());
  auto source = nlohmann::json::parse(snapshot.source_json, nullptr, false);
  if (!source.is_object()) source = nlohmann::json::object();
  // database -> table -> rows, without the system schemas (their contents
  // are the scratch server's own, and change by themselves).
  std::map<std::string, std::map<std::string, uint64_t>> expected;
  bool have_counts = source.contains("tables") && source["tables"].is_object();
  if (have_counts) {
    for (const auto& [db, tables] : source["tables"].items()) {
      if (system_schema(db) || !tables.is_object()) continue;
      auto& e = expected[db];
      for (const auto& [t, n] : tables.items())
        if (n.is_number_unsigned()) e[t] = n.get<uint64_t>();
    }
  }

  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo, repo::LockKind::kShared, ctx, "verify-restore"));
  if (repo.index().pack_count() == 0) LB_RETURN_IF_ERROR(repo.load_index());  // unless the caller did
  LB_ASSIGN_OR_RETURN(std::string dir, make_scratch_dir(options.scratch_root, "lifeboat-verify-mysql-"));
  VerifyReport report;
  report.kind = snapshot.kind;
  auto cleanup = [&] {
    if (options.keep) return;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  };

  std::unique_ptr<mysql::ScratchMariadb> server;
  bool ok = true;
  {
    VerifyStepTimer t(report, options, "start");
    auto started = mysql::ScratchMariadb::start(dir, ctx.username, ctx.is_root);
    if (started.is_ok()) {
      server = std::move(*started);
      t.pass(fmt::format("{} in {}", server->version(), dir));
    } else if (started.status().code() == ErrorCode::kNotFound) {
      cleanup();
      return started.status();
    } else {
      t.fail(started.status().message());
      ok = false;
    }
  }
  mysql::MysqlConnection conn;
  if (server) conn = server->connection();
  if (ok) {
    VerifyStepTimer t(report, options, "restore");
    std::vector<std::string> argv = {client};
    for (auto& a : conn.args()) argv.push_back(a);
    argv.push_back("--binary-mode");
    uint64_t bytes = 0;
    Status s = stream_file_into(repo, snapshot, "/dump.sql", argv, &bytes, conn.env);
    if (s.is_ok()) {
      t.pass(fmt::format("dump.sql, {} bytes", bytes));
    } else {
      t.fail(s.message());
      ok = false;
    }
  }
  if (ok) {
    VerifyStepTimer t(report, options, "counts");
    if (!have_counts) {
      t.fail("the snapshot recorded no row counts");
    } else {
      std::vector<std::string> wrong;
      uint64_t tables = 0, rows = 0;
      Status failed;
      // Which tables exist.
      std::set<std::pair<std::string, std::string>> present;
      if (!expected.empty()) {
        std::vector<std::string> dbs;
        for (const auto& [db, _] : expected) dbs.push_back(mysql::quote_string(db));
        auto listed = mysql::query(
            conn, fmt::format("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = "
                              "'BASE TABLE' AND TABLE_SCHEMA IN ({})",
                              fmt::join(dbs, ",")));
        if (!listed.is_ok()) failed = listed.status();
        else
          for (const auto& r : *listed)
            if (r.size() >= 2) present.emplace(r[0], r[1]);
      }
      // Their counts, a few hundred tables per client run.
      std::vector<std::tuple<std::string, std::string, uint64_t>> todo;
      for (const auto& [db, ts] : expected)
        for (const auto& [t2, n] : ts) {
          if (!present.count({db, t2})) {
            wrong.push_back(fmt::format("{}.{} is missing", db, t2));
            continue;
          }
          todo.emplace_back(db, t2, n);
        }
      for (size_t i = 0; i < todo.size() && failed.is_ok(); i += 200) {
        std::string sql;
        size_t end = std::min(todo.size(), i + 200);
        for (size_t k = i; k < end; ++k)
          sql += fmt::format("SELECT COUNT(*) FROM {}.{};", mysql::quote_identifier(std::get<0>(todo[k])),
                             mysql::quote_identifier(std::get<1>(todo[k])));
        auto counted = mysql::query(conn, sql);
        if (!counted.is_ok()) {
          failed = counted.status();
          break;
        }
        if (counted->size() != end - i) {
          failed = Status(ErrorCode::kIo, "the scratch server answered an unexpected number of counts");
          break;
        }
        for (size_t k = i; k < end; ++k) {
          const auto& [db, name, want] = todo[k];
          const auto& row = (*counted)[k - i];
          uint64_t got = row.empty() ? 0 : std::strtoull(row[0].c_str(), nullptr, 10);
          tables++;
          rows += got;
          if (got != want) wrong.push_back(fmt::format("{}.{} has {} rows, the dump {}", db, name, got, want));
        }
      }
      if (!failed.is_ok()) {
        t.fail(failed.message());
      } else if (!wrong.empty()) {
        size_t shown = std::min<size_t>(wrong.size(), 5);
        t.fail(fmt::format("{}{}", fmt::join(wrong.begin(), wrong.begin() + static_cast<std::ptrdiff_t>(shown), "; "),
                           wrong.size() > shown ? fmt::format("; and {} more", wrong.size() - shown) : ""));
      } else {
        t.pass(fmt::format("{} tables in {} database{}, {} rows, as in the dump", tables, expected.size(),
                           expected.size() == 1 ? "" : "s", rows));
      }
    }
  }
  // Assertions run in the dump's database when it has exactly one.
  if (expected.size() == 1) conn.database = expected.begin()->first;
  for (const auto& a : options.assertions) {
    if (!ok) break;
    VerifyStepTimer t(report, options, "assert: " + a.query);
    auto rows = mysql::query(conn, a.query);
    if (!rows.is_ok()) {
      t.fail(rows.status().message());
      continue;
    }
    if (rows->empty() || rows->front().empty()) {
      t.fail("the query returned no rows");
      continue;
    }
    const std::string& value = rows->front().front();
    auto holds = expectation_holds(a.expect, value);
    if (!holds.is_ok())
      t.fail(holds.status().message());
    else if (*holds)
      t.pass(fmt::format("{} ({})", value, a.expect));
    else
      t.fail(fmt::format("{}, expected {}", value, a.expect));
  }
  if (server) {
    VerifyStepTimer t(report, options, "stop");
    Status s = server->stop();
    if (s.is_ok())
      t.pass("mariadbd shut down");
    else
      t.fail(s.message());
  }
  cleanup();
  (void)lock->release();
  return report;
}

}  // namespace lifeboat::ops
