// A repository in Azure Blob Storage (or Azurite, its emulator).
//
// Location: azure:CONTAINER[/PREFIX]. The account and the endpoint come from
// the environment (azure_config_from_environment):
//   AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY      Shared Key (HMAC-SHA256)
//   AZURE_STORAGE_SAS_TOKEN                        a SAS query string, added
//                                                  to every URL (used when no
//                                                  account key is set)
//   AZURE_STORAGE_CONNECTION_STRING                AccountName, AccountKey,
//       SharedAccessSignature, BlobEndpoint, DefaultEndpointsProtocol,
//       EndpointSuffix, UseDevelopmentStorage; a variable above wins over the
//       same setting in the connection string
//   AZURE_STORAGE_BLOB_ENDPOINT                    else the connection string's
//       BlobEndpoint, else https://ACCOUNT.blob.core.windows.net
//   LIFEBOAT_AZURE_CA_BUNDLE                       CA bundle for https
//   LIFEBOAT_AZURE_TIER_DATA                       access tier of data packs
//       (write_cold: Hot, Cool, Cold, Archive); metadata and tree packs stay
//       in the account's default tier
//   LIFEBOAT_AZURE_THAW_PRIORITY                   rehydration priority for
//       thaw() (Standard or High)
//   LIFEBOAT_CONNECTIONS                           requests in flight (1-64)
//
// Objects up to put_blob_max are written with one Put Blob; larger ones are
// staged as blocks (Put Block) and committed whole by Put Block List, so a
// write is atomic either way. Every upload carries Content-MD5, so the service
// refuses a body damaged on the way (and the request is retried); whole-object
// reads are checked against the stored MD5. Reads check Content-Length and
// Content-Range and retry short ones; every request is retried with backoff on
// timeouts, resets, 5xx (ServerBusy, OperationTimedOut) and 429.
//
// Archive tier: list() marks archived objects, read() of one fails with
// kArchived, and thaw() rehydrates it with Set Blob Tier to Cool, where it
// stays (Azure keeps no temporary thawed copy, so `days` does not apply).
// set_retention() is not supported (Azure's immutability policies are set
// per container by its owner): it reports false.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/backend.h"
#include "storage/http.h"

namespace lifeboat::storage {

// The Blob service REST version sent as x-ms-version (Cold tier needs
// 2021-12-02 or later; Azurite 3.35 accepts up to 2025-11-05).
inline constexpr std::string_view kAzureApiVersion = "2024-11-04";

struct AzureConfig {
  std::string container;
  std::string prefix;    // "" or ending in '/'
  std::string endpoint;  // "https://ACCOUNT.blob.core.windows.net", no trailing slash
  std::string account;
  Bytes key;             // the decoded account key; empty with a SAS token
  std::string sas;       // SAS query string without '?', used when key is empty
  std::string data_tier;  // x-ms-access-tier of write_cold() objects, if set
  std::string thaw_priority = "Standard";  // x-ms-rehydrate-priority of thaw()
  uint64_t put_blob_max = 32ull << 20;  // larger objects go up in blocks
  uint64_t block_size = 16ull << 20;    // size of each staged block
  int list_page_size = 5000;            // maxresults per List Blobs request
  int connections = 5;                  // requests in flight (--connections, LIFEBOAT_CONNECTIONS)
  HttpOptions http;
};

// Parses "azure:CONTAINER[/PREFIX]" (no credentials; see
// azure_config_from_environment). kInvalidArgument, one line, when malformed.
Result<AzureConfig> parse_azure_location(std::string_view location);

// The fields of an Azure Storage connection string ("Key=Value;..."), in
// order; values keep their '=' (base64 keys end in it). kInvalidArgument for
// a part without '='.
Result<std::vector<std::pair<std::string, std::string>>> parse_azure_connection_string(std::string_view s);

// Fills account, key or SAS token, endpoint, CA bundle, tier and connections
// from the environment. kInvalidArgument, one line naming the variables to
// set, when there are no credentials or a setting is malformed.
Status azure_config_from_environment(AzureConfig& config);

// Shared Key: the string a request's signature covers, for `method`, the
// headers as sent ("Name: value"), the body length, the URL path as sent
// (percent-encoded, starting with '/') and the query parameters (decoded).
// Exposed for tests: an error here shows only as a 403 from the service.
std::string azure_string_to_sign(std::string_view method, const std::vector<std::string>& headers,
                                 uint64_t content_length, std::string_view account, std::string_view url_path,
                                 const std::vector<std::pair<std::string, std::string>>& query);
// base64(HMAC-SHA256(key, string_to_sign)).
std::string azure_signature(ByteSpan key, std::string_view string_to_sign);

class AzureBackend final : public Backend {
 public:
  explicit AzureBackend(AzureConfig config);

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

  // The access tier an object was given ("Cool", ...), or "" when it has the
  // account's default tier (x-ms-access-tier-inferred). For tests and checks.
  Result<std::string> access_tier(std::string_view name);

  const HttpClient& http() const { return http_; }
  HttpClient& http() { return http_; }

  using Query = std::vector<std::pair<std::string, std::string>>;
  // A request for the container (`name` empty) or one object, authorized
  // with the account key or the SAS token. `headers` are sent as given and
  // signed; x-ms-date and x-ms-version are added. Public for tests and
  // diagnostics.
  HttpRequest request(std::string method, std::string_view name, Query query, std::vector<std::string> headers = {},
                      ByteSpan body = {}) const;

 private:
  Status put(std::string_view name, ByteSpan data, bool cold);
  Status put_blob(std::string_view name, ByteSpan data, std::vector<std::string> headers);
  Status put_blocks(std::string_view name, ByteSpan data, std::vector<std::string> headers);
  // Get Blob Properties: the response, 200 or an error (kNotFound for a
  // missing object).
  Result<HttpResponse> properties(std::string_view name);
  // The error for a response that is not a success, naming `what`. For a
  // 403 to a HEAD of `head_name` (no body), a GET says which error it was.
  Status error_for(const HttpResponse& r, std::string_view what, std::string_view head_name = {});

  AzureConfig config_;
  HttpClient http_;
};

}  // namespace lifeboat::storage
