// A repository in an S3-compatible object store (AWS S3, Ceph RADOS
// Gateway, MinIO; Google Cloud Storage through its XML API with HMAC keys).
//
// Locations:
//   s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]   any S3 endpoint, path-style
//   s3:BUCKET[/PREFIX]                          AWS, virtual-hosted style, in
//                                               the configured region
// Requests are signed with AWS Signature V4 by libcurl, with the payload's
// SHA-256 in x-amz-content-sha256 (so the server rejects a body damaged on
// the way). Reads check Content-Length and retry short ones; every request
// is retried with backoff on timeouts, resets, 5xx and throttling.
//
// Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and
// AWS_SESSION_TOKEN), else the shared credentials file
// (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE or
// "default"). Region: AWS_REGION, AWS_DEFAULT_REGION, the profile's region
// in AWS_CONFIG_FILE or ~/.aws/config, else us-east-1. CA bundle:
// LIFEBOAT_S3_CA_BUNDLE or AWS_CA_BUNDLE. LIFEBOAT_S3_SSE sets
// x-amz-server-side-encryption (e.g. "AES256") on every object written;
// LIFEBOAT_S3_STORAGE_CLASS_DATA the storage class of data packs (metadata
// and tree packs stay in the default class); data packs in GLACIER or
// DEEP_ARCHIVE are thawed with RestoreObject (tier LIFEBOAT_S3_THAW_TIER:
// Standard, Bulk or Expedited). LIFEBOAT_S3_ADDRESSING=virtual|path picks
// the addressing style for an explicit endpoint (path by default).
//
// Objects above multipart_threshold go up in parts. With a retention period
// (set_retention, the repository's --lock-days) and a bucket with Object
// Lock enabled, every object but locks gets a retain-until date (mode
// LIFEBOAT_S3_OBJECT_LOCK_MODE, GOVERNANCE by default, or COMPLIANCE) and a
// Content-MD5; a bucket that create() makes then has Object Lock enabled.
#pragma once

#include <atomic>
#include <memory>
#include <vector>
#include <string>

#include "storage/backend.h"
#include "storage/http.h"

namespace lifeboat::storage {

struct S3Config {
  std::string endpoint;  // "http://127.0.0.1:7480", no trailing slash
  std::string bucket;
  std::string prefix;    // "" or ending in '/'
  bool path_style = true;
  bool explicit_endpoint = false;  // s3:http[s]://HOST/...: the location names it
  bool gcs = false;  // "gs:": Google Cloud Storage's XML API with HMAC keys
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  std::string sse;                 // x-amz-server-side-encryption, if set
  std::string data_storage_class;  // x-amz-storage-class of data/ objects, if set
  int list_page_size = 1000;       // max-keys per ListObjectsV2 request
  int connections = 5;             // requests in flight (--connections, LIFEBOAT_CONNECTIONS)
  uint64_t multipart_threshold = 64ull << 20;  // larger objects are uploaded in parts
  uint64_t part_size = 16ull << 20;            // at least 5 MiB (S3's minimum part size)
  std::string lock_mode = "GOVERNANCE";        // Object Lock retention mode
  std::string thaw_tier = "Standard";          // RestoreObject retrieval tier
  HttpOptions http;
};

// Parses "s3:..." or "gs:BUCKET[/PREFIX]" (without credentials; see
// s3_config_from_environment). For gs:, the endpoint is GS_ENDPOINT or
// https://storage.googleapis.com, the HMAC key GS_ACCESS_KEY_ID /
// GS_SECRET_ACCESS_KEY, and the Signature V4 region "auto".
Result<S3Config> parse_s3_location(std::string_view location);
// Fills credentials, region, CA bundle and options from the environment and
// the AWS shared files. kInvalidArgument when no credentials are found.
Status s3_config_from_environment(S3Config& config);

class S3Backend final : public Backend {
 public:
  explicit S3Backend(S3Config config);

  std::string location() const override;
  Status create() override;
  Result<std::vector<ObjectInfo>> list(std::string_view prefix) override;
  Result<Bytes> read(std::string_view name, uint64_t offset, uint64_t length) override;
  Status read_into(std::string_view name, uint64_t offset, uint64_t length, Bytes& out) override;
  Status write(std::string_view name, ByteSpan data) override;
  Status remove(std::string_view name) override;
  Result<ObjectInfo> stat(std::string_view name) override;
  int connections() const override { return config_.connections; }
  Status write_cold(std::string_view name, ByteSpan data) override;
  bool has_archive_tiers() const override { return true; }
  Result<ThawState> thaw_state(std::string_view name) override;
  Status thaw(std::string_view name, int days) override;
  Result<bool> set_retention(int days) override;

  const HttpClient& http() const { return http_; }
  HttpClient& http() { return http_; }
  // For tests and diagnostics: URLs and signed requests as the driver makes them.
  std::string object_url(std::string_view name) const;
  std::string bucket_url() const;
  HttpRequest signed_request(std::string method, std::string url, ByteSpan body = {}) const;

 private:
  Status put(std::string_view name, ByteSpan data, bool cold);
  // A successful HEAD of `name` (kNotFound, or the error, otherwise).
  Result<HttpResponse> head(std::string_view name);
  Status put_multipart(std::string_view name, ByteSpan data, const std::vector<std::string>& headers,
                       bool with_md5);
  // Headers for a new object: encryption, storage class, retention.
  std::vector<std::string> object_headers(std::string_view name, bool cold, bool* with_md5) const;
  // The error for a response that is not a success, naming `what`. For a
  // 403 to a HEAD of `head_url` (no body), a GET says which error it was.
  Status error_for(const HttpResponse& r, std::string_view what, const std::string& head_url = "");

  S3Config config_;
  HttpClient http_;
  std::atomic<int> retention_days_{0};  // > 0: new objects get a retain-until date
  std::atomic<bool> create_locked_{false};  // create() makes the bucket with Object Lock
};

}  // namespace lifeboat::storage
