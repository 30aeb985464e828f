// verify-restore of a "redis" snapshot: dump.rdb into a scratch directory,
// a redis-server on a UNIX socket there loads it, its key counts per
// database are compared with those recorded from the RDB at backup time,
// the user's assertions (Redis commands) run, and the server is shut down.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "ops/locking.h"
#include "ops/redis_restore.h"
#include "ops/verify_restore.h"
#include "sources/redis/redis_client.h"
#include "sources/redis/scratch_redis.h"
#include "sources/redis/split_args.h"
#include "util/posix_error.h"

namespace lifeboat::ops {

namespace redis = sources::redis;

namespace {

struct Expected {
  uint64_t keys = 0;
  uint64_t expires = 0;
};

std::map<int, Expected> expected_counts(const nlohmann::json& source) {
  std::map<int, Expected> out;
  for (const char* field : {"keys", "expires"}) {
    if (!source.contains(field) || !source[field].is_object()) continue;
    for (const auto& item : source[field].items()) {
      const std::string& k = item.key();
      if (k.rfind("db", 0) != 0 || !item.value().is_number_unsigned()) continue;
      uint64_t n = item.value().get<uint64_t>();
      Expected& e = out[std::atoi(k.c_str() + 2)];
      (std::string_view(field) == "keys" ? e.keys : e.expires) = n;
    }
  }
  return out;
}

}  // namespace

Result<VerifyReport> verify_redis(repo::Repository& repo, const repo::Snapshot& snapshot,
                                  const VerifyOptions& options, const OpContext& ctx) {
  if (find_program("redis-server").empty())
    return Status(ErrorCode::kNotFound,
                  "redis-server was not found: verify-restore of a Redis snapshot starts one; install it (Debian: "
                  "apt install redis-server) or put it in PATH");
  auto source = nlohmann::json::parse(snapshot.source_json, nullptr, false);
  if (!source.is_object()) source = nlohmann::json::object();
  auto expected = expected_counts(source);

  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo, repo::LockKind::kShared, ctx, "verify-restore"));
  if (repo.index().pack_count() == 0) LB_RETURN_IF_ERROR(repo.load_index());  // unless the caller did
  LB_ASSIGN_OR_RETURN(std::string dir, make_scratch_dir(options.scratch_root, "lifeboat-verify-redis-"));
  VerifyReport report;
  report.kind = snapshot.kind;

  std::unique_ptr<redis::ScratchRedis> server;
  bool ok = true;
  {
    VerifyStepTimer t(report, options, "restore");
    uint64_t bytes = 0;
    Status s = write_snapshot_file(repo, snapshot, "/dump.rdb", dir + "/dump.rdb", &bytes);
    if (s.is_ok()) {
      t.pass(fmt::format("dump.rdb, {} bytes, into {}", bytes, dir));
    } else {
      t.fail(s.message());
      ok = false;
    }
  }
  if (ok) {
    VerifyStepTimer t(report, options, "start");
    int databases = 16;
    for (const auto& [db, e] : expected) databases = std::max(databases, db + 1);
    auto started = redis::ScratchRedis::start(dir, databases);
    if (started.is_ok()) {
      server = std::move(*started);
      t.pass(fmt::format("redis-server {} loaded the RDB (on a UNIX socket)", server->version()));
    } else if (started.status().code() == ErrorCode::kNotFound) {
      return started.status();
    } else {
      t.fail(started.status().message());
      ok = false;
    }
  }
  std::unique_ptr<redis::RedisClient> client;
  if (ok) {
    auto c = redis::RedisClient::connect(server->endpoint(), "", 30000);
    if (!c.is_ok()) {
      VerifyStepTimer t(report, options, "counts");
      t.fail(c.status().message());
      ok = false;
    } else {
      client = std::move(*c);
    }
  }
  if (ok) {
    VerifyStepTimer t(report, options, "counts");
    auto info = client->info("keyspace");
    if (!info.is_ok()) {
      t.fail(info.status().message());
    } else if (!source.contains("keys")) {
      t.fail("the snapshot recorded no key counts");
    } else {
      auto actual = redis::parse_keyspace(*info);
      std::vector<std::string> parts, wrong;
      uint64_t total = 0;
      std::set<int> dbs;
      for (const auto& [db, e] : expected) dbs.insert(db);
      for (const auto& [db, c] : actual) dbs.insert(db);
      for (int db : dbs) {
        Expected e = expected.count(db) ? expected[db] : Expected{};
        uint64_t got = actual.count(db) ? actual[db].keys : 0;
        total += got;
        // Keys with a time to live may have expired since the backup: a
        // server drops them as it loads.
        bool fits = got <= e.keys && got + e.expires >= e.keys;
        std::string line = got == e.keys ? fmt::format("db{} {} key{}", db, got, got == 1 ? "" : "s")
                                         : fmt::format("db{} {} keys (backup: {}, {} with a TTL)", db, got,
                                                       e.keys, e.expires);
        (fits ? parts : wrong).push_back(line);
      }
      if (wrong.empty())
        t.pass(dbs.empty() ? "no keys, as at backup time" : fmt::format("{}", fmt::join(parts, ", ")));
      else
        t.fail(fmt::format("key counts differ from the backup's: {}", fmt::join(wrong, ", ")));
    }
  }
  for (const auto& a : options.assertions) {
    if (!ok) break;
    VerifyStepTimer t(report, options, "assert: " + a.query);
    std::vector<std::string> args;
    if (!redis::split_redis_args(a.query, args) || args.empty()) {
      t.fail("the command does not parse (unbalanced quotes?)");
      continue;
    }
    auto reply = client->command(args);
    if (!reply.is_ok()) {
      t.fail(reply.status().message());
      continue;
    }
    if (reply->type == redis::RedisValue::Type::kError) {
      t.fail("error: " + reply->str);
      continue;
    }
    std::string value = reply->text();
    auto holds = expectation_holds(a.expect, value);
    if (!holds.is_ok())
      t.fail(holds.status().message());
    else if (*holds)
      t.pass(fmt::format("{} ({})", value, a.expect));
    else
      t.fail(fmt::format("{}, expected {}", value, a.expect));
  }
  client.reset();
  if (server) {
    VerifyStepTimer t(report, options, "stop");
    Status s = server->stop();
    if (s.is_ok())
      t.pass("redis-server shut down");
    else
      t.fail(s.message());
  }
  if (!options.keep) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  (void)lock->release();
  return report;
}

}  // namespace lifeboat::ops
