// Where a Redis server is: redis://[[user][:password]@]host[:port][/db],
// rediss://... (TLS), or unix:///path/to/redis.sock[?db=N], as redis-cli
// -u takes them.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace lifeboat::sources::redis {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string socket;    // a UNIX socket path instead of host:port
  std::string user;      // ACL user (Redis 6+); empty: "default"
  std::string password;  // from the URL; empty when it has none
  int db = 0;
  bool tls = false;

  // The location without credentials, for messages and snapshot metadata:
  // "redis://127.0.0.1:6379", "unix:///run/redis.sock".
  std::string display() const;
  // A loopback address or a UNIX socket: the server's files are on this
  // machine.
  bool is_local() const;
};

// kInvalidArgument with a line saying what a valid URL looks like.
Result<RedisEndpoint> parse_redis_url(std::string_view url);

}  // namespace lifeboat::sources::redis
