#include "sources/redis/redis_url.h"

#include <charconv>

#include <fmt/format.h>

namespace lifeboat::sources::redis {

namespace {

Status bad(std::string_view url, std::string_view why) {
  return Status(ErrorCode::kInvalidArgument,
                fmt::format("invalid Redis URL \"{}\": {}; expected redis://[user:password@]host[:port][/db] or "
                            "unix:///path/to/redis.sock",
                            url, why));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding of the user and password parts (a password may hold
// '@' or ':' written as %40 / %3A).
bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

bool parse_int(std::string_view s, int lo, int hi, int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= lo && out <= hi;
}

}  // namespace

std::string RedisEndpoint::display() const {
  std::string base = !socket.empty() ? "unix://" + socket
                     : host.find(':') != std::string::npos
                         ? fmt::format("{}://[{}]:{}", tls ? "rediss" : "redis", host, port)
                         : fmt::format("{}://{}:{}", tls ? "rediss" : "redis", host, port);
  if (db != 0) base += socket.empty() ? fmt::format("/{}", db) : fmt::format("?db={}", db);
  return base;
}

bool RedisEndpoint::is_local() const {
  if (!socket.empty()) return true;
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

Result<RedisEndpoint> parse_redis_url(std::string_view url) {
  RedisEndpoint ep;
  std::string_view rest;
  if (url.rfind("redis://", 0) == 0) {
    rest = url.substr(8);
  } else if (url.rfind("rediss://", 0) == 0) {
    rest = url.substr(9);
    ep.tls = true;
  } else if (url.rfind("unix://", 0) == 0) {
    rest = url.substr(7);
    auto q = rest.find('?');
    std::string_view path = rest.substr(0, q);
    if (path.empty() || path.front() != '/') return bad(url, "a UNIX socket needs an absolute path");
    ep.socket = std::string(path);
    ep.host.clear();
    ep.port = 0;
    if (q != std::string_view::npos) {
      std::string_view query = rest.substr(q + 1);
      if (query.rfind("db=", 0) != 0 || !parse_int(query.substr(3), 0, 1 << 20, ep.db))
        return bad(url, "the only query parameter is db=N");
    }
    return ep;
  } else {
    return bad(url, "it must start with redis://, rediss:// or unix://");
  }
  // userinfo@
  auto at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view info = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = info.find(':');
    std::string_view user = info.substr(0, colon);
    if (!percent_decode(user, ep.user)) return bad(url, "bad percent-encoding in the user name");
    if (colon != std::string_view::npos && !percent_decode(info.substr(colon + 1), ep.password))
      return bad(url, "bad percent-encoding in the password");
  }
  // host[:port][/db]
  auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return bad(url, "unclosed '[' in the host");
    ep.host = std::string(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad(url, "unexpected text after the host");
      port = after.substr(1);
      if (port.empty()) return bad(url, "empty port");
    }
  } else {
    auto colon = hostport.find(':');
    ep.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = hostport.substr(colon + 1);
      if (port.empty()) return bad(url, "empty port");
    }
  }
  if (ep.host.empty()) return bad(url, "no host");
  if (!port.empty() && !parse_int(port, 1, 65535, ep.port)) return bad(url, "the port must be a number 1-65535");
  if (!path.empty() && !parse_int(path, 0, 1 << 20, ep.db)) return bad(url, "the database must be a number");
  return ep;
}

}  // namespace lifeboat::sources::redis
