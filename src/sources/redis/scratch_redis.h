// A throw-away redis-server for verify-restore: it loads dump.rdb from a
// directory of ours, listens only on a UNIX socket in that directory (no
// port to collide with), persists nothing, and is shut down by stop() or
// the destructor.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "sources/redis/redis_url.h"
#include "util/subprocess.h"

namespace lifeboat::sources::redis {

class ScratchRedis {
 public:
  // Starts redis-server in `dir` (which holds dump.rdb) with at least
  // `databases` databases (an RDB that uses db 20 needs 21) and waits up to
  // `timeout_ms` until it has loaded the data. kNotFound when redis-server
  // is not installed; kIo with the server's own reason (from its log) when
  // it does not come up, e.g. an RDB version newer than it reads.
  static Result<std::unique_ptr<ScratchRedis>> start(const std::string& dir, int databases = 16,
                                                     int timeout_ms = 300000);
  ~ScratchRedis();
  ScratchRedis(const ScratchRedis&) = delete;
  ScratchRedis& operator=(const ScratchRedis&) = delete;

  RedisEndpoint endpoint() const;
  const std::string& version() const { return version_; }
  // Shuts the server down without saving; idempotent.
  Status stop();

 private:
  ScratchRedis() = default;
  std::string dir_;
  std::string socket_;
  std::string version_;
  std::optional<Subprocess> proc_;
};

// The last warning line of a Redis log ("# Fatal error loading the DB:
// ...") without its pid/time prefix; "" when there is none.
std::string last_redis_log_error(const std::string& log_text);

// True once the child `pid` has ended; it stays waitable (WNOWAIT), so that
// Subprocess::wait() still reaps it and reports its status.
bool child_has_exited(pid_t pid);

}  // namespace lifeboat::sources::redis
