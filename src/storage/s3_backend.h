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
// stays in the default class).
#pragma once

#include <memory>
#include <string>

#include "storage/backend.h"
#include "storage/http.h"

namespace lifeboat::storage {

struct S3Config {
  std::string endpoint;  // "http://127.0.0.1:7480", no trailing slash
  std::string bucket;
  std::string prefix;    // "" or ending in '/'
  bool path_style = true;
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  std::string sse;                 // x-amz-server-side-encryption, if set
  std::string data_storage_class;  // x-amz-storage-class of data/ objects, if set
  int list_page_size = 1000;       // max-keys per ListObjectsV2 request
  int connections = 5;             // requests in flight (--connections, LIFEBOAT_CONNECTIONS)
  HttpOptions http;
};

// Parses "s3:..." (without credentials; see s3_config_from_environment).
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

  const HttpClient& http() const { return http_; }

 private:
  std::string object_url(std::string_view name) const;
  std::string bucket_url() const;
  HttpRequest signed_request(std::string method, std::string url, ByteSpan body = {}) const;
  // The error for a response that is not a success, naming `what`. For a
  // 403 to a HEAD of `head_url` (no body), a GET says which error it was.
  Status error_for(const HttpResponse& r, std::string_view what, const std::string& head_url = "");

  S3Config config_;
  HttpClient http_;
};

}  // namespace lifeboat::storage
