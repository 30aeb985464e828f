// A connection to a Redis server (hiredis underneath): commands, INFO and
// CONFIG GET, and a full synchronisation that streams the server's RDB the
// way `redis-cli --rdb` gets it.
//
// Not thread-safe; one connection per thread. A failed connection or
// authentication is a one-line Status that says what to check.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sources/redis/redis_url.h"
#include "util/status.h"

struct redisContext;

namespace lifeboat::sources::redis {

struct RedisValue {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string str;          // kString, kStatus, kError
  long long integer = 0;    // kInteger
  std::vector<RedisValue> elements;  // kArray

  // What redis-cli --no-raw would show for a single value: the string, the
  // integer in decimal, "" for nil; an array as its elements joined by
  // newlines.
  std::string text() const;
};

// The RDB payload of a full synchronisation, read as a stream. Either form
// the server chooses: "$<length>" followed by that many bytes (disk-based
// replication) or "$EOF:<40-byte mark>" with the mark after the data
// (diskless).
class RdbTransfer {
 public:
  virtual ~RdbTransfer() = default;
  // Up to n bytes of the RDB; 0 at its end. kUnavailable when the server
  // closes the connection early or sends nothing for the timeout.
  virtual Result<size_t> read(uint8_t* buf, size_t n) = 0;
  // The announced length (disk-based form), else nullopt.
  virtual std::optional<uint64_t> size() const = 0;
};

class RedisClient {
 public:
  // Connects, authenticates (AUTH [user] password when a password is given)
  // and checks the connection with PING. `timeout_ms` bounds the connection
  // and each reply.
  static Result<std::unique_ptr<RedisClient>> connect(const RedisEndpoint& endpoint, const std::string& password,
                                                      int timeout_ms = 10000);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends one command and returns its reply; an error reply is a value of
  // type kError, not a failed Result (which means the connection failed).
  Result<RedisValue> command(const std::vector<std::string>& args);
  // The command's reply, with an error reply turned into kIo "CMD: message".
  Result<RedisValue> checked(const std::vector<std::string>& args);
  // INFO <section> as key -> value ("redis_version" -> "7.0.15").
  Result<std::map<std::string, std::string>> info(const std::string& section);
  // CONFIG GET <name>; nullopt when the server refuses CONFIG (managed
  // services rename or forbid it).
  Result<std::optional<std::string>> config_get(const std::string& name);

  // Starts a full synchronisation (REPLCONF capa eof, REPLCONF rdb-only 1,
  // SYNC) and returns the RDB as a stream. The connection is then used only
  // by the transfer, which must not outlive the client. `timeout_ms` is how
  // long the server may stay silent (it sends newlines while it prepares the
  // RDB on disk, the payload arrives without pause).
  Result<std::unique_ptr<RdbTransfer>> start_sync(int timeout_ms);

  const RedisEndpoint& endpoint() const { return endpoint_; }

 private:
  RedisClient() = default;
  redisContext* ctx_ = nullptr;
  RedisEndpoint endpoint_;
};

// Parses INFO output ("# Server\r\nredis_version:7.0.15\r\n...").
std::map<std::string, std::string> parse_info(std::string_view text);

struct KeyspaceCounts {
  uint64_t keys = 0;
  uint64_t expires = 0;  // keys with a time to live
};
// INFO keyspace's "db0:keys=3,expires=1,avg_ttl=0" lines, by database number.
std::map<int, KeyspaceCounts> parse_keyspace(const std::map<std::string, std::string>& info);

}  // namespace lifeboat::sources::redis
