#include "sources/redis/redis_client.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "util/posix_error.h"

namespace lifeboat::sources::redis {

namespace {

RedisValue convert(const redisReply* r) {
  RedisValue v;
  if (!r) return v;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      v.type = RedisValue::Type::kString;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      v.type = RedisValue::Type::kStatus;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      v.type = RedisValue::Type::kError;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      v.type = RedisValue::Type::kInteger;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) v.elements.push_back(convert(r->element[i]));
      break;
    default:
      v.type = RedisValue::Type::kNil;
  }
  return v;
}

struct timeval to_timeval(int ms) {
  struct timeval tv;
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

// The first line of a server message, without "ERR " noise kept (it is
// part of what users search for).
std::string one_line(std::string s) {
  auto nl = s.find_first_of("\r\n");
  if (nl != std::string::npos) s.resize(nl);
  return s;
}

// Reads from a socket with a silence timeout.
Result<size_t> read_fd(int fd, uint8_t* buf, size_t n, int timeout_ms, const std::string& where) {
  for (;;) {
    struct pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      return posix_error(errno, "unable to read from " + where);
    }
    if (r == 0)
      return Status(ErrorCode::kUnavailable,
                    fmt::format("{} sent nothing for {} s during the transfer of its RDB", where, timeout_ms / 1000),
                    true);
    ssize_t got = ::read(fd, buf, n);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return posix_error(errno, "unable to read from " + where);
    }
    return static_cast<size_t>(got);
  }
}

class SizedTransfer : public RdbTransfer {
 public:
  SizedTransfer(int fd, uint64_t size, int timeout_ms, std::string where)
      : fd_(fd), left_(size), size_(size), timeout_ms_(timeout_ms), where_(std::move(where)) {}
  Result<size_t> read(uint8_t* buf, size_t n) override {
    if (left_ == 0) return size_t{0};
    LB_ASSIGN_OR_RETURN(size_t got, read_fd(fd_, buf, std::min<uint64_t>(n, left_), timeout_ms_, where_));
    if (got == 0)
      return Status(ErrorCode::kUnavailable,
                    fmt::format("{} closed the connection after {} of {} bytes of its RDB", where_, size_ - left_,
                                size_),
                    true);
    left_ -= got;
    return got;
  }
  std::optional<uint64_t> size() const override { return size_; }

 private:
  int fd_;
  uint64_t left_;
  uint64_t size_;
  int timeout_ms_;
  std::string where_;
};

// Diskless form: the data ends with the 40-byte mark announced in the
// header, so the last 40 bytes seen are held back until more arrive.
class MarkedTransfer : public RdbTransfer {
 public:
  static constexpr size_t kMark = 40;
  MarkedTransfer(int fd, std::string mark, int timeout_ms, std::string where)
      : fd_(fd), mark_(std::move(mark)), timeout_ms_(timeout_ms), where_(std::move(where)) {}

  Result<size_t> read(uint8_t* buf, size_t n) override {
    for (;;) {
      size_t avail = buf_.size() - start_;
      size_t ready = ended_ ? avail : (avail > kMark ? avail - kMark : 0);
      if (ready > 0) {
        size_t k = std::min(n, ready);
        std::memcpy(buf, buf_.data() + start_, k);
        start_ += k;
        return k;
      }
      if (ended_) return size_t{0};
      // Compact, then read more after what is held back.
      if (start_ > 0) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(start_));
        start_ = 0;
      }
      size_t old = buf_.size();
      buf_.resize(old + kChunk);
      auto got = read_fd(fd_, buf_.data() + old, kChunk, timeout_ms_, where_);
      if (!got.is_ok()) return got.status();
      buf_.resize(old + *got);
      if (*got == 0)
        return Status(ErrorCode::kUnavailable,
                      fmt::format("{} closed the connection before the end of its RDB", where_), true);
      if (buf_.size() >= kMark &&
          std::memcmp(buf_.data() + buf_.size() - kMark, mark_.data(), kMark) == 0) {
        buf_.resize(buf_.size() - kMark);
        ended_ = true;
      }
    }
  }
  std::optional<uint64_t> size() const override { return std::nullopt; }

 private:
  static constexpr size_t kChunk = 256 << 10;
  int fd_;
  std::string mark_;
  int timeout_ms_;
  std::string where_;
  std::vector<uint8_t> buf_;
  size_t start_ = 0;
  bool ended_ = false;
};

}  // namespace

std::string RedisValue::text() const {
  switch (type) {
    case Type::kNil: return "";
    case Type::kInteger: return std::to_string(integer);
    case Type::kArray: {
      std::string out;
      for (size_t i = 0; i < elements.size(); ++i) {
        if (i) out += "\n";
        out += elements[i].text();
      }
      return out;
    }
    default: return str;
  }
}

Result<std::unique_ptr<RedisClient>> RedisClient::connect(const RedisEndpoint& endpoint, const std::string& password,
                                                          int timeout_ms) {
  if (endpoint.tls)
    return Status(ErrorCode::kUnsupported,
                  "rediss:// (TLS) is not supported by this build (its hiredis has no SSL): reach the server "
                  "through a TLS tunnel (stunnel, spiped) and give a redis:// URL");
  std::unique_ptr<RedisClient> c(new RedisClient());
  c->endpoint_ = endpoint;
  std::string where = endpoint.display();
  c->ctx_ = endpoint.socket.empty()
                ? redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, to_timeval(timeout_ms))
                : redisConnectUnixWithTimeout(endpoint.socket.c_str(), to_timeval(timeout_ms));
  if (!c->ctx_) return Status(ErrorCode::kInternal, "out of memory connecting to Redis");
  if (c->ctx_->err)
    return Status(ErrorCode::kUnavailable,
                  fmt::format("unable to connect to Redis at {}: {}; is the server running? check --url", where,
                              c->ctx_->errstr),
                  true);
  redisSetTimeout(c->ctx_, to_timeval(timeout_ms));
  if (!password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!endpoint.user.empty()) auth.push_back(endpoint.user);
    auth.push_back(password);
    LB_ASSIGN_OR_RETURN(RedisValue r, c->command(auth));
    if (r.type == RedisValue::Type::kError &&
        r.str.find("without any password configured") == std::string::npos)
      return Status(ErrorCode::kPermission,
                    fmt::format("Redis at {} refused the credentials ({}): check REDISCLI_AUTH, or the user and "
                                "password in --url",
                                where, one_line(r.str)));
  }
  LB_ASSIGN_OR_RETURN(RedisValue pong, c->command({"PING"}));
  if (pong.type == RedisValue::Type::kError) {
    if (pong.str.rfind("LOADING", 0) == 0)
      return Status(ErrorCode::kUnavailable, fmt::format("Redis at {} is still loading its data", where), true);
    if (pong.str.rfind("NOAUTH", 0) == 0)
      return Status(ErrorCode::kPermission,
                    fmt::format("Redis at {} requires a password: set REDISCLI_AUTH (or give it in the URL, "
                                "redis://user:password@host:port)",
                                where));
    return Status(ErrorCode::kPermission, fmt::format("Redis at {} refused the connection: {}", where,
                                                      one_line(pong.str)));
  }
  if (endpoint.db != 0) {
    LB_RETURN_IF_ERROR(c->checked({"SELECT", std::to_string(endpoint.db)}).status());
  }
  return c;
}

RedisClient::~RedisClient() {
  if (ctx_) redisFree(ctx_);
}

Result<RedisValue> RedisClient::command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (!reply) {
    std::string why = ctx_->errstr[0] ? ctx_->errstr : "connection lost";
    if (ctx_->err == REDIS_ERR_EOF || why.find("closed") != std::string::npos)
      why = "the server closed the connection";
    return Status(ErrorCode::kUnavailable,
                  fmt::format("Redis at {} did not answer {}: {}", endpoint_.display(),
                              args.empty() ? "" : args[0], why),
                  true);
  }
  RedisValue v = convert(reply);
  freeReplyObject(reply);
  return v;
}

Result<RedisValue> RedisClient::checked(const std::vector<std::string>& args) {
  LB_ASSIGN_OR_RETURN(RedisValue v, command(args));
  if (v.type == RedisValue::Type::kError) {
    std::string cmd = args.empty() ? "" : args[0];
    if (v.str.rfind("NOPERM", 0) == 0)
      return Status(ErrorCode::kPermission,
                    fmt::format("Redis at {} does not allow {} for this user ({}): grant it with ACL SETUSER",
                                endpoint_.display(), cmd, one_line(v.str)));
    return Status(ErrorCode::kIo, fmt::format("Redis at {}: {}: {}", endpoint_.display(), cmd, one_line(v.str)));
  }
  return v;
}

std::map<std::string, std::string> parse_info(std::string_view text) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = end + 1;
    if (line.empty() || line.front() == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
  }
  return out;
}

std::map<int, KeyspaceCounts> parse_keyspace(const std::map<std::string, std::string>& info) {
  std::map<int, KeyspaceCounts> out;
  for (const auto& [k, v] : info) {
    if (k.rfind("db", 0) != 0) continue;
    int db = 0;
    auto [p, ec] = std::from_chars(k.data() + 2, k.data() + k.size(), db);
    if (ec != std::errc() || p != k.data() + k.size()) continue;
    KeyspaceCounts c;
    size_t start = 0;
    while (start < v.size()) {
      size_t end = v.find(',', start);
      if (end == std::string::npos) end = v.size();
      std::string_view item(v.data() + start, end - start);
      start = end + 1;
      auto eq = item.find('=');
      if (eq == std::string_view::npos) continue;
      uint64_t n = 0;
      std::string_view num = item.substr(eq + 1);
      if (std::from_chars(num.data(), num.data() + num.size(), n).ec != std::errc()) continue;
      if (item.substr(0, eq) == "keys") c.keys = n;
      if (item.substr(0, eq) == "expires") c.expires = n;
    }
    out[db] = c;
  }
  return out;
}

Result<std::map<std::string, std::string>> RedisClient::info(const std::string& section) {
  LB_ASSIGN_OR_RETURN(RedisValue v, checked({"INFO", section}));
  return parse_info(v.str);
}

Result<std::optional<std::string>> RedisClient::config_get(const std::string& name) {
  LB_ASSIGN_OR_RETURN(RedisValue v, command({"CONFIG", "GET", name}));
  if (v.type != RedisValue::Type::kArray) return std::optional<std::string>();
  if (v.elements.size() < 2) return std::optional<std::string>();
  return std::optional<std::string>(v.elements[1].str);
}

Result<std::unique_ptr<RdbTransfer>> RedisClient::start_sync(int timeout_ms) {
  std::string where = "Redis at " + endpoint_.display();
  // Ask for the diskless form when the server is set up for it, and for the
  // RDB only (Redis 7+; older servers answer an error, which is harmless).
  LB_ASSIGN_OR_RETURN(RedisValue capa, command({"REPLCONF", "capa", "eof"}));
  if (capa.type == RedisValue::Type::kError && capa.str.rfind("NOPERM", 0) == 0)
    return Status(ErrorCode::kPermission,
                  fmt::format("{} does not let this user replicate ({}): grant +replconf +sync (or +@admin)",
                              where, one_line(capa.str)));
  LB_ASSIGN_OR_RETURN(RedisValue only, command({"REPLCONF", "rdb-only", "1"}));
  (void)only;
  int fd = ctx_->fd;
  const char sync[] = "SYNC\r\n";
  size_t off = 0;
  while (off < sizeof sync - 1) {
    ssize_t n = ::write(fd, sync + off, sizeof sync - 1 - off);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return posix_error(errno, "unable to send SYNC to " + where);
    }
    off += static_cast<size_t>(n);
  }
  // The header line; lone newlines are keep-alives sent while the server
  // prepares the RDB.
  std::string line;
  for (;;) {
    uint8_t c;
    auto got = read_fd(fd, &c, 1, timeout_ms, where);
    if (!got.is_ok()) return got.status();
    if (*got == 0)
      return Status(ErrorCode::kUnavailable, where + " closed the connection instead of sending its RDB", true);
    if (c == '\n') {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      break;
    }
    if (line.size() > 4096) return Status(ErrorCode::kCorrupt, where + " sent an unexpected reply to SYNC");
    line.push_back(static_cast<char>(c));
  }
  if (line.front() == '-') {
    std::string msg = line.substr(1);
    if (msg.rfind("NOPERM", 0) == 0)
      return Status(ErrorCode::kPermission,
                    fmt::format("{} does not let this user replicate ({}): grant +sync +replconf (or +@admin)",
                                where, msg));
    return Status(ErrorCode::kIo, fmt::format("{} refused SYNC: {}", where, msg));
  }
  if (line.front() != '$')
    return Status(ErrorCode::kCorrupt, fmt::format("{} sent an unexpected reply to SYNC: {}", where, line));
  if (line.rfind("$EOF:", 0) == 0) {
    std::string mark = line.substr(5);
    if (mark.size() != MarkedTransfer::kMark)
      return Status(ErrorCode::kCorrupt, fmt::format("{} sent a malformed EOF mark", where));
    return std::unique_ptr<RdbTransfer>(new MarkedTransfer(fd, mark, timeout_ms, where));
  }
  uint64_t size = 0;
  auto [p, ec] = std::from_chars(line.data() + 1, line.data() + line.size(), size);
  if (ec != std::errc() || p != line.data() + line.size())
    return Status(ErrorCode::kCorrupt, fmt::format("{} sent an unexpected reply to SYNC: {}", where, line));
  return std::unique_ptr<RdbTransfer>(new SizedTransfer(fd, size, timeout_ms, where));
}

}  // namespace lifeboat::sources::redis
