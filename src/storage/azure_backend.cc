#include "storage/azure_backend.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <map>

#include <fmt/format.h>

#include "crypto/keyed_hash.h"
#include "crypto/random.h"
#include "storage/object_name.h"
#include "storage/object_store.h"
#include "storage/xml.h"
#include "util/encoding.h"

namespace lifeboat::storage {
namespace {

// Azurite's well-known development account (UseDevelopmentStorage=true).
constexpr std::string_view kDevAccount = "devstoreaccount1";
constexpr std::string_view kDevKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
constexpr std::string_view kDevEndpoint = "http://127.0.0.1:10000/devstoreaccount1";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// base64(MD5(data)), as Content-MD5 wants it.
std::string content_md5(ByteSpan data) {
  auto d = crypto::md5(data);
  return base64_encode(ByteSpan(d.data(), d.size()));
}

// x-ms-date: RFC 1123 in GMT, with English names whatever the locale.
std::string http_date() {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t now = std::time(nullptr);
  std::tm t{};
  gmtime_r(&now, &t);
  return fmt::format("{}, {:02d} {} {} {:02d}:{:02d}:{:02d} GMT", kDays[t.tm_wday], t.tm_mday, kMonths[t.tm_mon],
                     t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec);
}

struct AzureError {
  std::string code;     // x-ms-error-code, else the body's <Code>
  std::string message;  // the first line of <Message> (Azure appends RequestId and Time lines)
  std::string header;   // <HeaderName> of InvalidHeaderValue and the like
};

AzureError azure_error(const HttpResponse& r) {
  AzureError e{r.header("x-ms-error-code"), "", ""};
  if (!r.body.empty()) {
    if (auto x = parse_xml(r.body); x.is_ok()) {
      if (e.code.empty()) e.code = x->value("Error/Code");
      e.message = x->value("Error/Message");
      e.header = lower(x->value("Error/HeaderName"));
    }
  }
  if (auto nl = e.message.find_first_of("\r\n"); nl != std::string::npos) e.message.resize(nl);
  return e;
}

// For uploads: Md5Mismatch means the body was damaged on the way, which
// sending it again fixes (kUnavailable makes perform_with_retry repeat it).
Status upload_intact(const HttpResponse& r) {
  if (r.status != 400) return Status::ok();
  if (azure_error(r).code == "Md5Mismatch")
    return Status(ErrorCode::kUnavailable, "the service received a damaged body (Md5Mismatch)");
  return Status::ok();
}

// The path of an endpoint URL ("http://127.0.0.1:10000/devstoreaccount1" ->
// "/devstoreaccount1"; "" for "https://a.blob.core.windows.net").
std::string endpoint_path(std::string_view endpoint) {
  size_t host = endpoint.find("//");
  size_t slash = endpoint.find('/', host == std::string_view::npos ? 0 : host + 2);
  return slash == std::string_view::npos ? "" : std::string(endpoint.substr(slash));
}

// Azure's container names: 3-63 of [a-z0-9-], starting and ending with a
// letter or digit, no "--".
bool valid_container(std::string_view c) {
  if (c.size() < 3 || c.size() > 63 || c.front() == '-' || c.back() == '-') return false;
  for (size_t i = 0; i < c.size(); ++i) {
    unsigned char ch = static_cast<unsigned char>(c[i]);
    if (!(std::islower(ch) || std::isdigit(ch) || ch == '-')) return false;
    if (ch == '-' && c[i + 1] == '-') return false;
  }
  return true;
}

Status parse_connections(AzureConfig& c) {
  std::string n = env("LIFEBOAT_CONNECTIONS");
  if (n.empty()) return Status::ok();
  int v = std::atoi(n.c_str());
  if (v < 1 || v > 64)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("--connections / LIFEBOAT_CONNECTIONS must be 1 to 64, not \"{}\"", n));
  c.connections = v;
  return Status::ok();
}

}  // namespace

Result<AzureConfig> parse_azure_location(std::string_view location) {
  auto bad = [&](std::string_view why) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("invalid Azure location \"{}\": {} (use azure:CONTAINER[/PREFIX]; the account comes "
                              "from AZURE_STORAGE_ACCOUNT or AZURE_STORAGE_CONNECTION_STRING)",
                              location, why));
  };
  if (!location.starts_with("azure:")) return bad("it does not start with azure:");
  std::string_view rest = location.substr(6);
  if (rest.starts_with("//") || rest.starts_with("http:") || rest.starts_with("https:"))
    return bad("give the container, not a URL (set AZURE_STORAGE_BLOB_ENDPOINT for another endpoint)");
  AzureConfig c;
  size_t slash = rest.find('/');
  c.container = std::string(rest.substr(0, slash));
  if (c.container.empty()) return bad("no container");
  if (!valid_container(c.container))
    return bad("a container name has 3 to 63 lower-case letters, digits and single '-' between them");
  if (slash != std::string_view::npos) {
    std::string prefix(rest.substr(slash + 1));
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (!prefix.empty()) c.prefix = prefix + "/";
  }
  return c;
}

Result<std::vector<std::pair<std::string, std::string>>> parse_azure_connection_string(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(';', pos);
    if (end == std::string_view::npos) end = s.size();
    std::string_view part = s.substr(pos, end - pos);
    while (!part.empty() && std::isspace(static_cast<unsigned char>(part.front()))) part.remove_prefix(1);
    while (!part.empty() && std::isspace(static_cast<unsigned char>(part.back()))) part.remove_suffix(1);
    if (!part.empty()) {
      size_t eq = part.find('=');
      if (eq == std::string_view::npos || eq == 0)
        return Status(ErrorCode::kInvalidArgument,
                      fmt::format("AZURE_STORAGE_CONNECTION_STRING is malformed near \"{}\": it is a list of "
                                  "Key=Value parts separated by ';' (copy it as the portal shows it)",
                                  part.substr(0, std::min<size_t>(part.size(), 20))));
      out.emplace_back(std::string(part.substr(0, eq)), std::string(part.substr(eq + 1)));
    }
    pos = end + 1;
  }
  return out;
}

Status azure_config_from_environment(AzureConfig& c) {
  std::string conn_account, conn_key, conn_sas, conn_endpoint, protocol = "https",
                                                                suffix = "core.windows.net";
  if (std::string cs = env("AZURE_STORAGE_CONNECTION_STRING"); !cs.empty()) {
    LB_ASSIGN_OR_RETURN(auto fields, parse_azure_connection_string(cs));
    for (const auto& [k, v] : fields) {
      std::string key = lower(k);
      if (key == "accountname") conn_account = v;
      else if (key == "accountkey") conn_key = v;
      else if (key == "sharedaccesssignature") conn_sas = v;
      else if (key == "blobendpoint") conn_endpoint = v;
      else if (key == "defaultendpointsprotocol") protocol = v;
      else if (key == "endpointsuffix") suffix = v;
      else if (key == "usedevelopmentstorage" && lower(v) == "true") {
        conn_account = kDevAccount;
        conn_key = kDevKey;
        conn_endpoint = kDevEndpoint;
      }
    }
  }
  // A variable wins over the same setting in the connection string.
  auto pick = [](const char* var, const std::string& from_conn, std::string& source) {
    std::string v = env(var);
    if (!v.empty()) {
      source = var;
      return v;
    }
    source = "AZURE_STORAGE_CONNECTION_STRING";
    return from_conn;
  };
  std::string account_from, key_from, sas_from, endpoint_from;
  c.account = pick("AZURE_STORAGE_ACCOUNT", conn_account, account_from);
  std::string key = pick("AZURE_STORAGE_KEY", conn_key, key_from);
  std::string sas = pick("AZURE_STORAGE_SAS_TOKEN", conn_sas, sas_from);
  c.endpoint = pick("AZURE_STORAGE_BLOB_ENDPOINT", conn_endpoint, endpoint_from);

  if (key.empty() && sas.empty())
    return Status(ErrorCode::kInvalidArgument,
                  "no Azure credentials: set AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY, or "
                  "AZURE_STORAGE_SAS_TOKEN, or AZURE_STORAGE_CONNECTION_STRING");
  c.key.clear();
  c.sas.clear();
  if (!key.empty()) {
    if (c.account.empty())
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("an Azure account key is set ({}) but no account name: set AZURE_STORAGE_ACCOUNT",
                                key_from));
    auto decoded = base64_decode(key);
    if (!decoded || decoded->empty())
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("the Azure account key in {} is not base64: copy it as the portal or `az storage "
                                "account keys list` shows it",
                                key_from));
    c.key = std::move(*decoded);
  } else {
    c.sas = sas;
    if (c.sas.starts_with('?')) c.sas.erase(0, 1);
    if (c.sas.find("sig=") == std::string::npos)
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("the SAS token in {} has no sig= parameter: give the whole query string "
                                "(sv=...&sig=...)",
                                sas_from));
  }
  if (c.endpoint.empty()) {
    if (c.account.empty())
      return Status(ErrorCode::kInvalidArgument,
                    "no Azure account for the SAS token: set AZURE_STORAGE_ACCOUNT or AZURE_STORAGE_BLOB_ENDPOINT");
    c.endpoint = fmt::format("{}://{}.blob.{}", protocol, c.account, suffix);
  }
  while (c.endpoint.ends_with('/')) c.endpoint.pop_back();
  if (!c.endpoint.starts_with("http://") && !c.endpoint.starts_with("https://"))
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("the Azure blob endpoint \"{}\" ({}) is not an http:// or https:// URL", c.endpoint,
                              endpoint_from));
  c.http.ca_bundle = env("LIFEBOAT_AZURE_CA_BUNDLE");
  if (std::string p = env("LIFEBOAT_AZURE_THAW_PRIORITY"); !p.empty()) {
    if (lower(p) == "standard") c.thaw_priority = "Standard";
    else if (lower(p) == "high") c.thaw_priority = "High";
    else
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("LIFEBOAT_AZURE_THAW_PRIORITY must be Standard or High, not \"{}\"", p));
  }
  if (std::string tier = env("LIFEBOAT_AZURE_TIER_DATA"); !tier.empty()) {
    c.data_tier.clear();
    for (std::string_view t : {"Hot", "Cool", "Cold", "Archive"})
      if (lower(tier) == lower(t)) c.data_tier = t;
    if (c.data_tier.empty())
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("LIFEBOAT_AZURE_TIER_DATA must be Hot, Cool, Cold or Archive, not \"{}\"", tier));
  }
  return parse_connections(c);
}

std::string azure_string_to_sign(std::string_view method, const std::vector<std::string>& headers,
                                 uint64_t content_length, std::string_view account, std::string_view url_path,
                                 const std::vector<std::pair<std::string, std::string>>& query) {
  std::map<std::string, std::string> standard;  // lower-cased name -> value
  std::map<std::string, std::string> ms;        // x-ms-* headers
  for (const auto& line : headers) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = lower(line.substr(0, colon));
    while (!name.empty() && name.back() == ' ') name.pop_back();
    // The value with its linear white space folded to one space, trimmed.
    std::string value;
    for (char ch : line.substr(colon + 1)) {
      bool space = ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
      if (space && (value.empty() || value.back() == ' ')) continue;
      value.push_back(space ? ' ' : ch);
    }
    while (!value.empty() && value.back() == ' ') value.pop_back();
    (name.starts_with("x-ms-") ? ms : standard)[name] = value;
  }
  auto h = [&](const char* name) {
    auto it = standard.find(name);
    return it == standard.end() ? std::string() : it->second;
  };
  std::string s = std::string(method) + "\n";
  s += h("content-encoding") + "\n";
  s += h("content-language") + "\n";
  s += (content_length == 0 ? std::string() : std::to_string(content_length)) + "\n";  // "" for 0 since 2015-02-21
  for (const char* name : {"content-md5", "content-type", "date", "if-modified-since", "if-match", "if-none-match",
                           "if-unmodified-since", "range"})
    s += h(name) + "\n";
  for (const auto& [name, value] : ms) s += name + ":" + value + "\n";
  s += "/" + std::string(account) + std::string(url_path.empty() ? "/" : url_path);
  std::map<std::string, std::vector<std::string>> params;
  for (const auto& [k, v] : query) params[lower(k)].push_back(v);
  for (auto& [k, values] : params) {
    std::sort(values.begin(), values.end());
    s += "\n" + k + ":";
    for (size_t i = 0; i < values.size(); ++i) s += (i ? "," : "") + values[i];
  }
  return s;
}

std::string azure_signature(ByteSpan key, std::string_view string_to_sign) {
  auto mac = crypto::hmac_sha256(key, as_bytes(string_to_sign));
  return base64_encode(ByteSpan(mac.data(), mac.size()));
}

AzureBackend::AzureBackend(AzureConfig config) : config_(std::move(config)), http_(config_.http) {}

std::string AzureBackend::location() const { return fmt::format("azure:{}/{}", config_.container, config_.prefix); }

HttpRequest AzureBackend::request(std::string method, std::string_view name, Query query,
                                  std::vector<std::string> headers, ByteSpan body) const {
  std::string path = endpoint_path(config_.endpoint) + "/" + config_.container;
  if (!name.empty()) path += "/" + uri_encode(config_.prefix + std::string(name), /*keep_slash=*/true);
  std::string q;
  for (const auto& [k, v] : query) q += (q.empty() ? "" : "&") + k + "=" + uri_encode(v, false);
  if (config_.key.empty() && !config_.sas.empty()) q += (q.empty() ? "" : "&") + config_.sas;
  HttpRequest r;
  r.method = std::move(method);
  r.url = config_.endpoint.substr(0, config_.endpoint.size() - endpoint_path(config_.endpoint).size()) + path +
          (q.empty() ? "" : "?" + q);
  r.body = body;
  r.headers = std::move(headers);
  r.headers.push_back("x-ms-date: " + http_date());
  r.headers.push_back("x-ms-version: " + std::string(kAzureApiVersion));
  if (!config_.key.empty()) {
    std::string to_sign = azure_string_to_sign(r.method, r.headers, r.method == "PUT" ? body.size() : 0,
                                               config_.account, path, query);
    r.headers.push_back(fmt::format("Authorization: SharedKey {}:{}", config_.account,
                                    azure_signature(config_.key, to_sign)));
  }
  return r;
}

Status AzureBackend::error_for(const HttpResponse& head, std::string_view what, std::string_view head_name) {
  // A HEAD response has no body to say why: ask again with a GET of one byte.
  HttpResponse got;
  const HttpResponse* use = &head;
  if (head.status == 403 && head.body.empty() && !head_name.empty()) {
    if (http_.perform(request("GET", head_name, {}, {"x-ms-range: bytes=0-0"}), got).is_ok() && got.status == 403)
      use = &got;
  }
  const HttpResponse& r = *use;
  auto [code, message, header] = azure_error(r);
  std::string detail = code.empty() ? fmt::format("HTTP {}", r.status) : fmt::format("HTTP {} {}", r.status, code);
  if (!message.empty()) detail += ": " + message;
  const std::string& container = config_.container;
  bool sas = config_.key.empty();
  if (code == "ContainerNotFound")
    return Status(ErrorCode::kNoRepository,
                  fmt::format("{}: container \"{}\" does not exist at {} (create the repository with `lifeboat "
                              "init`, or check the location and the account)",
                              what, container, config_.endpoint));
  // Azure says AuthenticationFailed for a wrong key or SAS signature,
  // Azurite AuthorizationFailure with Azure's message.
  if (code == "AuthenticationFailed" || code == "InvalidAuthenticationInfo" ||
      message.starts_with("Server failed to authenticate"))
    return Status(ErrorCode::kPermission,
                  fmt::format("{}: {} ({})", what, detail,
                              sas ? "check AZURE_STORAGE_SAS_TOKEN: its signature, start and expiry time"
                                  : "check AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY"));
  if (code == "AccountIsDisabled")
    return Status(ErrorCode::kPermission, fmt::format("{}: the storage account is disabled ({})", what, detail));
  if (code == "BlobArchived")
    return Status(ErrorCode::kArchived,
                  fmt::format("{}: the object is in the Archive tier (thaw it first: `lifeboat restore` does, see "
                              "--thaw-wait)",
                              what));
  if (code == "InvalidBlobTier" || header == "x-ms-access-tier")
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("{}: the account does not accept access tier \"{}\" ({}); change "
                              "LIFEBOAT_AZURE_TIER_DATA",
                              what, config_.data_tier, detail));
  if (r.status == 403)
    return Status(ErrorCode::kPermission,
                  fmt::format("{}: access to container \"{}\" denied ({}); {}", what, container, detail,
                              sas ? "the SAS token needs read, add, create, write, delete and list permissions on it"
                                  : "check the account's network rules and the key"));
  if (r.status == 404) return Status(ErrorCode::kNotFound, fmt::format("{}: not found", what));
  return Status(ErrorCode::kIo, fmt::format("{}: {}", what, detail));
}

Status AzureBackend::create() {
  HttpResponse r;
  LB_RETURN_IF_ERROR(http_.perform_with_retry(request("PUT", "", {{"restype", "container"}}), r));
  bool exists = r.status == 201 || (r.status == 409 && azure_error(r).code == "ContainerAlreadyExists");
  // A SAS for one container may not create containers: if it exists, the
  // listing below works; if not (or the token is bad), its error says so.
  bool try_listing = r.status == 403 && config_.key.empty();
  if (!exists && !try_listing)
    return error_for(r, fmt::format("unable to create container \"{}\"", config_.container));
  return require_empty(*this);
}

Result<std::vector<ObjectInfo>> AzureBackend::list(std::string_view prefix) {
  if (!valid_list_prefix(prefix)) return std::vector<ObjectInfo>{};
  std::vector<ObjectInfo> out;
  std::string full = config_.prefix + std::string(prefix);
  std::string marker;
  for (;;) {
    Query query{{"restype", "container"}, {"comp", "list"}, {"maxresults", std::to_string(config_.list_page_size)}};
    if (!full.empty()) query.emplace_back("prefix", full);
    if (!marker.empty()) query.emplace_back("marker", marker);
    HttpResponse r;
    XmlElements x;
    LB_RETURN_IF_ERROR(http_.perform_with_retry(request("GET", "", std::move(query)), r, xml_into(x)));
    if (r.status != 200) return error_for(r, "unable to list " + location() + std::string(prefix));
    static const ListingFields kFields{
        "EnumerationResults/Blobs/Blob", "EnumerationResults/Blobs/Blob/Name",
        "EnumerationResults/Blobs/Blob/Properties/Content-Length",
        "EnumerationResults/Blobs/Blob/Properties/AccessTier",
        [](std::string_view tier) { return tier == "Archive"; },
        "EnumerationResults/Blobs/Blob/Properties/Last-Modified"};
    collect_listing(x, kFields, config_.prefix, out);
    marker = x.value("EnumerationResults/NextMarker");
    if (marker.empty()) break;
  }
  return out;
}

Result<Bytes> AzureBackend::read(std::string_view name, uint64_t offset, uint64_t length) {
  Bytes out;
  LB_RETURN_IF_ERROR(read_into(name, offset, length, out));
  return out;
}

Status AzureBackend::read_into(std::string_view name, uint64_t offset, uint64_t length, Bytes& out) {
  out.clear();
  if (!valid_object_name(name)) return invalid_object_name(name);
  std::vector<std::string> headers;
  bool ranged = offset > 0 || length != kToEnd;
  if (ranged) {
    if (length == 0) {
      LB_RETURN_IF_ERROR(stat(name).status());
      return Status::ok();
    }
    headers.push_back("x-ms-range: " + byte_range(offset, length));
  }
  HttpRequest req = request("GET", name, {}, std::move(headers));
  HttpResponse r;
  r.body.swap(out);  // the caller's buffer, reused (no fresh pages per read)
  // A response shorter than it says (a dropped connection) or damaged (MD5)
  // is retried, never returned.
  ResponseCheck complete = whole_read(name, offset);
  auto whole = [&](const HttpResponse& resp) -> Status {
    LB_RETURN_IF_ERROR(complete(resp));
    if (resp.status == 200 && !ranged) {
      std::string md5 = resp.header("content-md5");
      if (!md5.empty() && md5 != content_md5(resp.body))
        return Status(ErrorCode::kUnavailable, fmt::format("{} arrived damaged (Content-MD5 differs)", name));
    }
    return Status::ok();
  };
  LB_RETURN_IF_ERROR(http_.perform_with_retry(req, r, whole));
  if (r.status == 404 && azure_error(r).code != "ContainerNotFound")
    return Status(ErrorCode::kNotFound, fmt::format("{} not found in {}", name, location()));
  if (!take_read_body(r, length, out)) return error_for(r, "unable to read " + std::string(name));
  return Status::ok();
}

Status AzureBackend::write(std::string_view name, ByteSpan data) { return put(name, data, /*cold=*/false); }

Status AzureBackend::write_cold(std::string_view name, ByteSpan data) { return put(name, data, /*cold=*/true); }

Status AzureBackend::put(std::string_view name, ByteSpan data, bool cold) {
  if (!valid_object_name(name)) return invalid_object_name(name);
  std::vector<std::string> headers;
  if (cold && !config_.data_tier.empty()) headers.push_back("x-ms-access-tier: " + config_.data_tier);
  if (data.size() <= config_.put_blob_max) return put_blob(name, data, std::move(headers));
  return put_blocks(name, data, std::move(headers));
}

Status AzureBackend::put_blob(std::string_view name, ByteSpan data, std::vector<std::string> headers) {
  headers.push_back("x-ms-blob-type: BlockBlob");
  headers.push_back("Content-MD5: " + content_md5(data));
  HttpResponse r;
  LB_RETURN_IF_ERROR(
      http_.perform_with_retry(request("PUT", name, {}, std::move(headers), data), r, upload_intact));
  if (r.status != 201) return error_for(r, "unable to write " + std::string(name));
  return Status::ok();
}

// Blocks are staged under ids unique to this write (a random nonce and the
// block number, the same length for every block as Azure requires), so two
// writers of one name never commit each other's blocks; uncommitted blocks
// are invisible and the service discards them after a week.
Status AzureBackend::put_blocks(std::string_view name, ByteSpan data, std::vector<std::string> headers) {
  std::string nonce = hex_encode(crypto::random_bytes(8));
  // A blob has at most 50,000 blocks: bigger objects get bigger blocks.
  const uint64_t block_size = std::max<uint64_t>(config_.block_size, (data.size() + 49'999) / 50'000);
  const uint64_t blocks = (data.size() + block_size - 1) / block_size;
  std::string list = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
  uint64_t n = 0;
  for (uint64_t off = 0; off < data.size(); off += block_size, ++n) {
    ByteSpan block = data.subspan(off, std::min<uint64_t>(block_size, data.size() - off));
    std::string id = base64_encode(as_bytes(fmt::format("lifeboat-{}-{:06d}", nonce, n)));
    HttpResponse r;
    LB_RETURN_IF_ERROR(http_.perform_with_retry(request("PUT", name, {{"comp", "block"}, {"blockid", id}},
                                                        {"Content-MD5: " + content_md5(block)}, block),
                                                r, upload_intact));
    if (r.status != 201)
      return error_for(r, fmt::format("unable to write {} (block {} of {})", name, n + 1, blocks));
    list += "<Latest>" + id + "</Latest>";
  }
  list += "</BlockList>";
  Bytes body = to_bytes(list);
  headers.push_back("Content-MD5: " + content_md5(body));
  // The whole object's MD5, which Get Blob returns for whole reads to check.
  headers.push_back("x-ms-blob-content-md5: " + content_md5(data));
  HttpResponse r;
  LB_RETURN_IF_ERROR(
      http_.perform_with_retry(request("PUT", name, {{"comp", "blocklist"}}, std::move(headers), body), r,
                               upload_intact));
  if (r.status != 201) return error_for(r, "unable to write " + std::string(name) + " (committing its blocks)");
  return Status::ok();
}

Status AzureBackend::remove(std::string_view name) {
  if (!valid_object_name(name)) return invalid_object_name(name);
  HttpResponse r;
  LB_RETURN_IF_ERROR(http_.perform_with_retry(request("DELETE", name, {}), r));
  if (r.status == 404 && azure_error(r).code != "ContainerNotFound")
    return Status(ErrorCode::kNotFound, fmt::format("{} not found in {}", name, location()));
  if (r.status != 202 && r.status != 200) return error_for(r, "unable to remove " + std::string(name));
  return Status::ok();
}

Result<HttpResponse> AzureBackend::properties(std::string_view name) {
  if (!valid_object_name(name)) return invalid_object_name(name);
  HttpResponse r;
  LB_RETURN_IF_ERROR(http_.perform_with_retry(request("HEAD", name, {}), r));
  if (r.status == 404 && azure_error(r).code != "ContainerNotFound")
    return Status(ErrorCode::kNotFound, fmt::format("{} not found in {}", name, location()));
  if (r.status != 200) return error_for(r, "unable to stat " + std::string(name), name);
  return r;
}

Result<ObjectInfo> AzureBackend::stat(std::string_view name) {
  LB_ASSIGN_OR_RETURN(HttpResponse r, properties(name));
  return ObjectInfo{std::string(name), std::strtoull(r.header("content-length").c_str(), nullptr, 10),
                    r.header("x-ms-access-tier") == "Archive"};
}

Result<std::string> AzureBackend::access_tier(std::string_view name) {
  LB_ASSIGN_OR_RETURN(HttpResponse r, properties(name));
  if (r.header("x-ms-access-tier-inferred") == "true") return std::string();
  return r.header("x-ms-access-tier");
}

Result<ThawState> AzureBackend::thaw_state(std::string_view name) {
  LB_ASSIGN_OR_RETURN(HttpResponse r, properties(name));
  if (r.header("x-ms-access-tier") != "Archive") return ThawState::kReadable;
  // x-ms-archive-status: rehydrate-pending-to-hot/cool/cold while it thaws.
  if (r.header("x-ms-archive-status").starts_with("rehydrate-pending")) return ThawState::kThawing;
  return ThawState::kArchived;
}

Status AzureBackend::thaw(std::string_view name, int days) {
  (void)days;  // a rehydrated blob stays in its new tier
  // Only an archived blob moves: Set Blob Tier on a Hot one would demote it.
  LB_ASSIGN_OR_RETURN(ThawState state, thaw_state(name));
  if (state != ThawState::kArchived) return Status::ok();
  HttpResponse r;
  LB_RETURN_IF_ERROR(http_.perform_with_retry(
      request("PUT", name, {{"comp", "tier"}},
              {"x-ms-access-tier: Cool", "x-ms-rehydrate-priority: " + config_.thaw_priority}),
      r));
  // 202: rehydration started; 200: it was readable already; 409: it is thawing.
  if (r.status == 200 || r.status == 202) return Status::ok();
  if (r.status == 409 && azure_error(r).code == "BlobBeingRehydrated") return Status::ok();
  return error_for(r, "unable to thaw " + std::string(name));
}

}  // namespace lifeboat::storage
