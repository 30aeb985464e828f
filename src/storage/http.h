// HTTP for the object-storage drivers: libcurl easy handles kept in a pool,
// so connections (and TLS sessions) are reused across requests and threads,
// and a retry loop with exponential backoff and jitter for what a retry can
// fix (timeouts, resets, truncated responses, 5xx, 429 and throttling).
// Every request the drivers make is safe to repeat: objects are immutable
// and content-named, and a repeated DELETE or PUT leaves the same state.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::storage {

struct HttpRequest {
  std::string method = "GET";  // GET, PUT, HEAD, DELETE, POST
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  ByteSpan body;                     // PUT / POST
  // Passed to CURLOPT_AWS_SIGV4 with user:password, when set.
  std::string aws_sigv4;
  std::string userpwd;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  Bytes body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct HttpOptions {
  std::string ca_bundle;            // "" = the system's
  long connect_timeout_ms = 10'000;
  long low_speed_time_s = 60;       // abort a transfer slower than 1 KiB/s for this long
  int max_attempts = 8;             // first try included
  int64_t backoff_base_ms = 100;    // doubled per retry, with full jitter
  int64_t backoff_max_ms = 10'000;
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One attempt. Transport failures (no response) are kUnavailable; any
  // HTTP status is a response, whatever it says. `out` receives the body
  // (reused buffer), HEAD gets none.
  Status perform(const HttpRequest& request, HttpResponse& out);

  // perform() again while the failure is transient: transport errors and
  // responses for which `retryable(response)` is true (by default 5xx and
  // 429). `validate` may reject a response that arrived whole by HTTP's
  // measure but not by the caller's (kUnavailable retries it). Returns the
  // last response; its status is for the caller to judge.
  Status perform_with_retry(const HttpRequest& request, HttpResponse& out,
                            const std::function<Status(const HttpResponse&)>& validate = nullptr);

  // Counters for benchmarks (requests per GiB) and tests.
  uint64_t requests() const;
  uint64_t retries() const;

 private:
  struct Handle;
  std::unique_ptr<Handle> take();
  void give_back(std::unique_ptr<Handle> h);

  HttpOptions options_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Handle>> idle_;
  uint64_t requests_ = 0;
  uint64_t retries_ = 0;
};

// RFC 3986 percent-encoding of everything but unreserved characters (and
// '/' when `keep_slash`), as AWS Signature V4 canonicalises.
std::string uri_encode(std::string_view s, bool keep_slash);

}  // namespace lifeboat::storage
