#include "storage/http.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>

#include <fmt/format.h>

namespace lifeboat::storage {
namespace {

void global_init() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)done;
}

// The most a Content-Length may make us reserve ahead (packs are far smaller;
// a larger body still arrives, growing as it comes).
constexpr uint64_t kMaxReserve = 256u << 20;

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<HttpResponse*>(user);
  Bytes& out = resp->body;
  if (out.empty()) {
    // Reserve the whole body once: growing it piece by piece copies it and
    // faults in fresh pages at every doubling (a third of a restore's time).
    auto it = resp->headers.find("content-length");
    if (it != resp->headers.end()) {
      uint64_t want = std::strtoull(it->second.c_str(), nullptr, 10);
      // Half as much again: bodies of a reused buffer differ a little in
      // size (packs), and a buffer that grew by a few bytes would be mapped
      // anew each time. Untouched pages cost nothing.
      if (want > out.capacity() && want <= kMaxReserve) out.reserve(want + want / 2);
    }
  }
  append(out, ByteSpan(reinterpret_cast<const uint8_t*>(data), size * n));
  return size * n;
}

struct HeaderSink {
  curl_socket_t* fd;  // the handle's connection, from on_socket
  HttpResponse* response;
};

int on_socket(void* user, curl_socket_t fd, curlsocktype) {
  *static_cast<curl_socket_t*>(user) = fd;
  return CURL_SOCKOPT_OK;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<HeaderSink*>(user);
  HttpResponse* resp = sink->response;
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    resp->headers.clear();  // a new response (after 100 Continue or a redirect)
    // ACK the headers now: a server that writes headers and a small body
    // separately (Nagle on its side) would otherwise wait for our delayed
    // ACK, 40 ms per request on a reused connection.
    if (*sink->fd != CURL_SOCKET_BAD) {
      int one = 1;
      ::setsockopt(*sink->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  resp->headers[name] = std::string(value);
  return size * n;
}

struct Upload {
  ByteSpan data;
  size_t pos = 0;
};

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* up = static_cast<Upload*>(user);
  size_t k = std::min(size * n, up->data.size() - up->pos);
  std::memcpy(buf, up->data.data() + up->pos, k);
  up->pos += k;
  return k;
}

int on_seek(void* user, curl_off_t offset, int origin) {
  auto* up = static_cast<Upload*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > up->data.size()) return CURL_SEEKFUNC_FAIL;
  up->pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// Errors no retry fixes: a malformed request or a certificate problem.
bool permanent(CURLcode c) {
  switch (c) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_LOGIN_DENIED:
    case CURLE_NOT_BUILT_IN:
      return true;
    default:
      return false;
  }
}

}  // namespace

struct HttpClient::Handle {
  CURL* curl = nullptr;
  curl_socket_t fd = CURL_SOCKET_BAD;  // of its (reused) connection
  Handle() : curl(curl_easy_init()) {}
  ~Handle() {
    if (curl) curl_easy_cleanup(curl);
  }
};

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) { global_init(); }

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient::Handle> HttpClient::take() {
  {
    std::lock_guard lock(mu_);
    requests_++;
    if (!idle_.empty()) {
      auto h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  return std::make_unique<Handle>();
}

void HttpClient::give_back(std::unique_ptr<Handle> h) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(h));
}

uint64_t HttpClient::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

uint64_t HttpClient::retries() const {
  std::lock_guard lock(mu_);
  return retries_;
}

Status HttpClient::perform(const HttpRequest& req, HttpResponse& out) {
  auto h = take();
  if (!h->curl) return Status(ErrorCode::kInternal, "curl_easy_init failed");
  CURL* c = h->curl;
  curl_easy_reset(c);  // keeps the connection cache
  out.status = 0;
  out.headers.clear();
  out.body.clear();
  Upload upload{req.body, 0};
  curl_slist* headers = nullptr;
  for (const auto& line : req.headers) headers = curl_slist_append(headers, line.c_str());
  // (No "Expect:" override: Signature V4 would sign it while curl drops it.)
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  static const bool verbose = std::getenv("LIFEBOAT_HTTP_DEBUG") != nullptr;
  if (verbose) curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, options_.low_speed_time_s);
  // Large socket reads and writes: with curl's defaults (16 KiB down,
  // 64 KiB up) a 16 MiB pack took a thousand recv() and poll() calls.
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 1L << 20);
  curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  HeaderSink sink{&h->fd, &out};
  curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_socket);
  curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, &h->fd);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
  if (!options_.ca_bundle.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_bundle.c_str());
  if (!req.aws_sigv4.empty()) {
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, req.aws_sigv4.c_str());
    curl_easy_setopt(c, CURLOPT_USERPWD, req.userpwd.c_str());
  }
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &upload);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, &upload);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, reinterpret_cast<const char*>(req.body.data()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    // A handle whose transfer broke may hold a broken connection: drop it.
    return Status(permanent(rc) ? ErrorCode::kInvalidArgument : ErrorCode::kUnavailable,
                  fmt::format("{} {}: {}", req.method, req.url, curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  give_back(std::move(h));
  return Status::ok();
}

Status HttpClient::perform_with_retry(const HttpRequest& req, HttpResponse& out,
                                      const std::function<Status(const HttpResponse&)>& validate) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  Status last = Status::ok();
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (attempt > 0) {
      {
        std::lock_guard lock(mu_);
        retries_++;
      }
      int64_t cap = std::min(options_.backoff_max_ms, options_.backoff_base_ms << std::min(attempt - 1, 20));
      std::uniform_int_distribution<int64_t> jitter(cap / 2, cap);
      std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng)));
    }
    last = perform(req, out);
    if (!last.is_ok()) {
      if (last.code() != ErrorCode::kUnavailable) return last;
      continue;
    }
    bool transient = out.status >= 500 || out.status == 429;
    if (transient) {
      last = Status(ErrorCode::kUnavailable, fmt::format("{} {}: HTTP {}", req.method, req.url, out.status));
      continue;
    }
    if (validate) {
      last = validate(out);
      if (!last.is_ok() && last.code() == ErrorCode::kUnavailable) continue;
    }
    return last;
  }
  return last.with_context(fmt::format("gave up after {} attempts", options_.max_attempts));
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || (keep_slash && ch == '/')) {
      out.push_back(static_cast<char>(ch));
    } else {
      out += fmt::format("%{:02X}", ch);
    }
  }
  return out;
}

}  // namespace lifeboat::storage
