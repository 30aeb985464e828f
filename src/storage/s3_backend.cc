#include "storage/s3_backend.h"

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "crypto/keyed_hash.h"
#include "storage/object_name.h"
#include "storage/object_store.h"
#include "storage/xml.h"
#include "util/encoding.h"

namespace lifeboat::storage {
namespace {

// The <Code> and <Message> of an S3 error response (empty when it has none).
std::pair<std::string, std::string> s3_error(const HttpResponse& r) {
  if (r.body.empty()) return {};
  auto x = parse_xml(r.body);
  if (!x.is_ok()) return {};
  return {x->value("Error/Code"), x->value("Error/Message")};
}

// A section of an AWS INI file: "[name]" (credentials) or "[profile name]"
// (config; "[default]" there too).
std::map<std::string, std::string> ini_section(const std::string& path, const std::string& section) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  bool inside = false;
  auto trim = [](std::string s) {
    s.erase(0, s.find_first_not_of(" \t\r"));
    s.erase(s.find_last_not_of(" \t\r") + 1);
    return s;
  };
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      std::string name = trim(line.substr(1, line.size() - 2));
      if (name.starts_with("profile ")) name = trim(name.substr(8));
      inside = name == section;
      continue;
    }
    auto eq = line.find('=');
    if (inside && eq != std::string::npos) out[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return out;
}

std::string sha256_hex(ByteSpan data) {
  auto d = crypto::sha256(data);
  return hex_encode(ByteSpan(d.data(), d.size()));
}

// A 400 saying that the body which arrived does not match its checksum (or
// came too slowly): the body in memory is fine, so sending it again helps.
Status upload_arrived_whole(const HttpResponse& r) {
  if (r.status != 400) return Status::ok();
  auto [code, message] = s3_error(r);
  if (code == "XAmzContentSHA256Mismatch" || code == "BadDigest" || code == "RequestTimeout" ||
      code == "IncompleteBody")
    return Status(ErrorCode::kUnavailable, "the upload arrived damaged (" + code + ")");
  return Status::ok();
}

std::string md5_base64(ByteSpan data) {
  auto d = crypto::md5(data);
  return base64_encode(ByteSpan(d.data(), d.size()));
}

// "2026-11-23T04:00:00Z", `days` days from now (Object Lock's retain-until).
std::string iso8601_days_from_now(int days) {
  std::time_t t = std::time(nullptr) + static_cast<std::time_t>(days) * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Archive classes: objects there must be restored (thawed) before a GET.
// GLACIER_IR (instant retrieval) reads like a hot class.
bool archive_class(std::string_view storage_class) {
  return storage_class == "GLACIER" || storage_class == "DEEP_ARCHIVE";
}

std::string one_of(const std::string& value, std::initializer_list<const char*> allowed, const char* var,
                   Status& error) {
  for (const char* a : allowed)
    if (value == a) return value;
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  error = Status(ErrorCode::kInvalidArgument, fmt::format("{}=\"{}\" is not one of {}", var, value, list));
  return value;
}

}  // namespace

Result<S3Config> parse_s3_location(std::string_view location) {
  auto bad = [&](std::string_view why) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("invalid S3 location \"{}\": {} (use s3:https://HOST[:PORT]/BUCKET[/PREFIX] or "
                              "s3:BUCKET[/PREFIX] for AWS)",
                              location, why));
  };
  S3Config c;
  std::string_view rest;
  if (location.starts_with("gs:")) {
    // Google Cloud Storage through its S3-compatible XML API (HMAC keys).
    c.gcs = true;
    rest = location.substr(3);
  } else if (location.starts_with("s3:")) {
    rest = location.substr(3);
  } else {
    return bad("it does not start with s3:");
  }
  if (c.gcs) {
    c.path_style = true;  // the endpoint comes from GS_ENDPOINT or is Google's
  } else if (rest.starts_with("http://") || rest.starts_with("https://")) {
    size_t host_start = rest.find("//") + 2;
    size_t slash = rest.find('/', host_start);
    if (slash == std::string_view::npos || slash == host_start) return bad("no bucket after the host");
    c.endpoint = std::string(rest.substr(0, slash));
    rest = rest.substr(slash + 1);
    c.path_style = true;
    c.explicit_endpoint = true;
  } else {
    c.path_style = false;  // AWS: the endpoint follows from the region
  }
  size_t slash = rest.find('/');
  c.bucket = std::string(rest.substr(0, slash));
  if (c.bucket.empty()) return bad("no bucket");
  if (slash != std::string_view::npos) {
    std::string prefix(rest.substr(slash + 1));
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (!prefix.empty()) c.prefix = prefix + "/";
  }
  for (char ch : c.bucket)
    if (!(std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) || ch == '-' ||
          ch == '.' || ch == '_'))
      return bad("a bucket name has lower-case letters, digits, '-', '.' and '_' only");
  return c;
}

Status s3_config_from_environment(S3Config& c) {
  std::string home = env("HOME");
  std::string profile = env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::string cred_file = env("AWS_SHARED_CREDENTIALS_FILE");
  if (cred_file.empty() && !home.empty()) cred_file = home + "/.aws/credentials";
  std::string config_file = env("AWS_CONFIG_FILE");
  if (config_file.empty() && !home.empty()) config_file = home + "/.aws/config";

  if (c.gcs) {
    c.access_key = env("GS_ACCESS_KEY_ID");
    c.secret_key = env("GS_SECRET_ACCESS_KEY");
    if (c.access_key.empty() || c.secret_key.empty())
      return Status(ErrorCode::kInvalidArgument,
                    "no Google Cloud Storage HMAC key: set GS_ACCESS_KEY_ID and GS_SECRET_ACCESS_KEY (create one "
                    "with `gcloud storage hmac create SERVICE_ACCOUNT_EMAIL`)");
    c.region = "auto";  // what GCS expects in a Signature V4 scope
    c.endpoint = env("GS_ENDPOINT");
    if (c.endpoint.empty()) c.endpoint = "https://storage.googleapis.com";
    while (c.endpoint.ends_with("/")) c.endpoint.pop_back();
  }
  if (!c.gcs) {
    c.access_key = env("AWS_ACCESS_KEY_ID");
    c.secret_key = env("AWS_SECRET_ACCESS_KEY");
    c.session_token = env("AWS_SESSION_TOKEN");
  }
  if (!c.gcs && (c.access_key.empty() || c.secret_key.empty())) {
    auto sec = ini_section(cred_file, profile);
    c.access_key = sec["aws_access_key_id"];
    c.secret_key = sec["aws_secret_access_key"];
    c.session_token = sec["aws_session_token"];
  }
  if (c.access_key.empty() || c.secret_key.empty())
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put profile "
                              "\"{}\" in {}",
                              profile, cred_file.empty() ? "~/.aws/credentials" : cred_file));
  std::string region = env("AWS_REGION");
  if (region.empty()) region = env("AWS_DEFAULT_REGION");
  if (region.empty()) region = ini_section(config_file, profile)["region"];
  if (!region.empty() && !c.gcs) c.region = region;
  if (c.endpoint.empty()) c.endpoint = "https://s3." + c.region + ".amazonaws.com";
  c.http.ca_bundle = env("LIFEBOAT_S3_CA_BUNDLE");
  if (c.http.ca_bundle.empty()) c.http.ca_bundle = env("AWS_CA_BUNDLE");
  c.sse = env("LIFEBOAT_S3_SSE");
  c.data_storage_class = env("LIFEBOAT_S3_STORAGE_CLASS_DATA");
  Status bad = Status::ok();
  if (std::string m = env("LIFEBOAT_S3_OBJECT_LOCK_MODE"); !m.empty())
    c.lock_mode = one_of(m, {"GOVERNANCE", "COMPLIANCE"}, "LIFEBOAT_S3_OBJECT_LOCK_MODE", bad);
  if (std::string t = env("LIFEBOAT_S3_THAW_TIER"); !t.empty())
    c.thaw_tier = one_of(t, {"Standard", "Bulk", "Expedited"}, "LIFEBOAT_S3_THAW_TIER", bad);
  if (std::string a = env("LIFEBOAT_S3_ADDRESSING"); !a.empty())
    c.path_style = one_of(a, {"path", "virtual"}, "LIFEBOAT_S3_ADDRESSING", bad) == "path";
  LB_RETURN_IF_ERROR(bad);
  if (std::string n = env("LIFEBOAT_CONNECTIONS"); !n.empty()) {
    int v = std::atoi(n.c_str());
    if (v < 1 || v > 64)
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("--connections / LIFEBOAT_CONNECTIONS must be 1 to 64, not \"{}\"", n));
    c.connections = v;
  }
  return Status::ok();
}

S3Backend::S3Backend(S3Config config) : config_(std::move(config)), http_(config_.http) {}

std::string S3Backend::location() const {
  if (config_.gcs) return fmt::format("gs:{}/{}", config_.bucket, config_.prefix);
  if (!config_.explicit_endpoint) return fmt::format("s3:{}/{}", config_.bucket, config_.prefix);
  return fmt::format("s3:{}/{}/{}", config_.endpoint, config_.bucket, config_.prefix);
}

std::string S3Backend::bucket_url() const {
  if (config_.path_style) return config_.endpoint + "/" + config_.bucket;
  std::string host = config_.endpoint.substr(config_.endpoint.find("//") + 2);
  return config_.endpoint.substr(0, config_.endpoint.find("//") + 2) + config_.bucket + "." + host;
}

std::string S3Backend::object_url(std::string_view name) const {
  return bucket_url() + "/" + uri_encode(config_.prefix + std::string(name), /*keep_slash=*/true);
}

HttpRequest S3Backend::signed_request(std::string method, std::string url, ByteSpan body) const {
  HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.body = body;
  r.headers.push_back("x-amz-content-sha256: " + sha256_hex(body));
  if (!config_.session_token.empty()) r.headers.push_back("x-amz-security-token: " + config_.session_token);
  r.aws_sigv4 = "aws:amz:" + config_.region + ":s3";
  r.userpwd = config_.access_key + ":" + config_.secret_key;
  return r;
}

Status S3Backend::error_for(const HttpResponse& head, std::string_view what, const std::string& head_url) {
  // A HEAD response has no body to say why: ask again with a GET of one byte.
  HttpResponse got;
  const HttpResponse* use = &head;
  if (head.status == 403 && head.body.empty() && !head_url.empty()) {
    HttpRequest again = signed_request("GET", head_url);
    again.headers.push_back("Range: bytes=0-0");
    if (http_.perform(again, got).is_ok() && got.status == 403) use = &got;
  }
  const HttpResponse& r = *use;
  auto [code, message] = s3_error(r);
  std::string detail = code.empty() ? fmt::format("HTTP {}", r.status) : fmt::format("HTTP {} {}", r.status, code);
  if (!message.empty()) detail += ": " + message;
  std::string bucket = config_.bucket;
  if (code == "NoSuchBucket")
    return Status(ErrorCode::kNoRepository,
                  fmt::format("{}: bucket \"{}\" does not exist at {} (create the repository with `lifeboat init`, "
                              "or check the location)",
                              what, bucket, config_.endpoint));
  if (code == "SignatureDoesNotMatch")
    return Status(ErrorCode::kPermission, fmt::format("{}: {} (check AWS_SECRET_ACCESS_KEY)", what, detail));
  if (code == "InvalidAccessKeyId")
    return Status(ErrorCode::kPermission, fmt::format("{}: {} (check AWS_ACCESS_KEY_ID)", what, detail));
  if (code == "InvalidObjectState")
    return Status(ErrorCode::kArchived,
                  fmt::format("{}: the object is in an archive storage class (thaw it first: `lifeboat restore` "
                              "does, see --thaw-wait)",
                              what));
  if (r.status == 403)
    return Status(ErrorCode::kPermission,
                  fmt::format("{}: access to bucket \"{}\" denied ({}); check the credentials and the bucket policy",
                              what, bucket, detail));
  if (r.status == 404) return Status(ErrorCode::kNotFound, fmt::format("{}: not found", what));
  if (r.status == 301 || code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed") {
    std::string region = r.header("x-amz-bucket-region");
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("{}: bucket \"{}\" is in {} region, not {}: set AWS_REGION", what, bucket,
                              region.empty() ? "another" : "the " + region, config_.region));
  }
  return Status(ErrorCode::kIo, fmt::format("{}: {}", what, detail));
}

Status S3Backend::create() {
  HttpResponse r;
  LB_RETURN_IF_ERROR(http_.perform_with_retry(signed_request("HEAD", bucket_url()), r));
  if (r.status == 404) {
    Bytes body;
    if (config_.region != "us-east-1" && !config_.gcs)  // GCS: the default location
      body = to_bytes(fmt::format("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                                  "<LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                                  config_.region));
    HttpRequest make = signed_request("PUT", bucket_url(), body);
    if (create_locked_) make.headers.push_back("x-amz-bucket-object-lock-enabled: true");
    LB_RETURN_IF_ERROR(http_.perform_with_retry(make, r));
    // Created, or created meanwhile by another process of ours.
    if (r.status != 200 && !(r.status == 409 && s3_error(r).first == "BucketAlreadyOwnedByYou"))
      return error_for(r, fmt::format("unable to create bucket \"{}\"", config_.bucket));
  } else if (r.status != 200) {
    return error_for(r, fmt::format("bucket \"{}\"", config_.bucket), bucket_url());
  }
  return require_empty(*this);
}

Result<std::vector<ObjectInfo>> S3Backend::list(std::string_view prefix) {
  if (!valid_list_prefix(prefix)) return std::vector<ObjectInfo>{};
  std::vector<ObjectInfo> out;
  std::string full = config_.prefix + std::string(prefix);
  std::string token;
  for (;;) {
    // The query in canonical (sorted, encoded) form, as Signature V4 signs it.
    std::string query;
    if (!token.empty()) query += "continuation-token=" + uri_encode(token, false) + "&";
    query += fmt::format("list-type=2&max-keys={}&prefix={}", config_.list_page_size, uri_encode(full, false));
    HttpResponse r;
    XmlElements x;
    LB_RETURN_IF_ERROR(http_.perform_with_retry(signed_request("GET", bucket_url() + "/?" + query), r, xml_into(x)));
    if (r.status != 200) return error_for(r, "unable to list " + location() + std::string(prefix));
    static const ListingFields kFields{"ListBucketResult/Contents", "ListBucketResult/Contents/Key",
                                       "ListBucketResult/Contents/Size", "ListBucketResult/Contents/StorageClass",
                                       archive_class, "ListBucketResult/Contents/LastModified"};
    collect_listing(x, kFields, config_.prefix, out);
    if (x.value("ListBucketResult/IsTruncated") != "true") break;
    token = x.value("ListBucketResult/NextContinuationToken");
    if (token.empty()) return Status(ErrorCode::kIo, "S3 listing is truncated but has no continuation token");
  }
  return out;
}

Result<Bytes> S3Backend::read(std::string_view name, uint64_t offset, uint64_t length) {
  Bytes out;
  LB_RETURN_IF_ERROR(read_into(name, offset, length, out));
  return out;
}

Status S3Backend::read_into(std::string_view name, uint64_t offset, uint64_t length, Bytes& out) {
  out.clear();
  if (!valid_object_name(name)) return invalid_object_name(name);
  HttpRequest req = signed_request("GET", object_url(name));
  if (offset > 0 || length != kToEnd) {
    if (length == 0) {
      LB_RETURN_IF_ERROR(stat(name).status());
      return Status::ok();
    }
    req.headers.push_back("Range: " + byte_range(offset, length));
  }
  HttpResponse r;
  r.body.swap(out);  // the caller's buffer, reused (no fresh pages per read)
  // A response shorter than it says (a dropped connection) is retried, never returned.
  LB_RETURN_IF_ERROR(http_.perform_with_retry(req, r, whole_read(name, offset)));
  if (!take_read_body(r, length, out)) return error_for(r, "unable to read " + std::string(name));
  return Status::ok();
}

Status S3Backend::write(std::string_view name, ByteSpan data) { return put(name, data, /*cold=*/false); }

Status S3Backend::write_cold(std::string_view name, ByteSpan data) { return put(name, data, /*cold=*/true); }

std::vector<std::string> S3Backend::object_headers(std::string_view name, bool cold, bool* with_md5) const {
  std::vector<std::string> h;
  if (!config_.sse.empty()) h.push_back("x-amz-server-side-encryption: " + config_.sse);
  if (cold && !config_.data_storage_class.empty()) h.push_back("x-amz-storage-class: " + config_.data_storage_class);
  *with_md5 = false;
  // Locks come and go every few seconds; everything else is kept.
  if (int days = retention_days_.load(); days > 0 && !name.starts_with("locks/")) {
    h.push_back("x-amz-object-lock-mode: " + config_.lock_mode);
    h.push_back("x-amz-object-lock-retain-until-date: " + iso8601_days_from_now(days));
    *with_md5 = true;  // S3 requires it with retention headers
  }
  return h;
}

Status S3Backend::put(std::string_view name, ByteSpan data, bool cold) {
  if (!valid_object_name(name)) return invalid_object_name(name);
  bool with_md5 = false;
  std::vector<std::string> headers = object_headers(name, cold, &with_md5);
  if (data.size() > config_.multipart_threshold) return put_multipart(name, data, headers, with_md5);
  HttpRequest req = signed_request("PUT", object_url(name), data);
  req.headers.insert(req.headers.end(), headers.begin(), headers.end());
  if (with_md5) req.headers.push_back("Content-MD5: " + md5_base64(data));
  HttpResponse r;
  LB_RETURN_IF_ERROR(http_.perform_with_retry(req, r, upload_arrived_whole));
  if (r.status != 200) return error_for(r, "unable to write " + std::string(name));
  return Status::ok();
}

Status S3Backend::put_multipart(std::string_view name, ByteSpan data, const std::vector<std::string>& headers,
                                bool with_md5) {
  const std::string what = "unable to write " + std::string(name);
  const std::string url = object_url(name);
  // A 200 whose body does not parse (cut off) or is an <Error> (S3 can fail
  // a completion after sending the status) is retried.
  XmlElements x;
  auto parsed = [&x](const HttpResponse& resp) -> Status {
    if (resp.status != 200) return Status::ok();
    auto p = parse_xml(resp.body);
    if (!p.is_ok()) return p.status();
    if (std::string code = p->value("Error/Code"); !code.empty())
      return Status(ErrorCode::kUnavailable, "S3 answered 200 with error " + code);
    x = std::move(*p);
    return Status::ok();
  };
  HttpRequest init = signed_request("POST", url + "?uploads=");
  init.headers.insert(init.headers.end(), headers.begin(), headers.end());
  HttpResponse r;
  LB_RETURN_IF_ERROR(http_.perform_with_retry(init, r, parsed));
  if (r.status != 200) return error_for(r, what);
  std::string upload_id = x.value("InitiateMultipartUploadResult/UploadId");
  if (upload_id.empty()) return Status(ErrorCode::kIo, what + ": the server returned no upload id");
  const std::string query = "uploadId=" + uri_encode(upload_id, false);
  auto fail = [&](Status s) {
    HttpResponse ignored;  // best effort: an unfinished upload only costs storage until a lifecycle rule
    (void)http_.perform_with_retry(signed_request("DELETE", url + "?" + query), ignored);
    return s;
  };

  // S3 allows 10,000 parts; bigger objects get bigger parts.
  uint64_t part_size = std::max<uint64_t>(config_.part_size, (data.size() + 9999) / 10000);
  std::string complete = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  int number = 1;
  for (uint64_t off = 0; off < data.size(); off += part_size, ++number) {
    ByteSpan part = data.subspan(off, std::min<uint64_t>(part_size, data.size() - off));
    HttpRequest put = signed_request("PUT", fmt::format("{}?partNumber={}&{}", url, number, query), part);
    if (with_md5) put.headers.push_back("Content-MD5: " + md5_base64(part));
    Status s = http_.perform_with_retry(put, r, upload_arrived_whole);
    if (!s.is_ok()) return fail(s.with_context(what));
    if (r.status != 200) return fail(error_for(r, fmt::format("{} (part {})", what, number)));
    std::string etag = r.header("etag");
    if (etag.empty()) return fail(Status(ErrorCode::kIo, fmt::format("{}: part {} has no ETag", what, number)));
    complete += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", number, etag);
  }
  complete += "</CompleteMultipartUpload>";
  Bytes body = to_bytes(complete);
  HttpRequest done = signed_request("POST", url + "?" + query, body);
  done.headers.push_back("Content-Type: application/xml");
  Status s = http_.perform_with_retry(done, r, parsed);
  if (!s.is_ok()) return fail(s.with_context(what));
  if (r.status == 404 && s3_error(r).first == "NoSuchUpload") {
    // A retried completion whose first answer was lost: the object is there.
    auto st = stat(name);
    if (st.is_ok() && st->size == data.size()) return Status::ok();
  }
  if (r.status != 200) return fail(error_for(r, what));
  if (int days = retention_days_.load(); with_md5 && days > 0) {
    // Some servers (Ceph RGW 16) drop the retention headers of a multipart
    // upload: set it on the completed object (the same date or later).
    Bytes retention = to_bytes(fmt::format(
        "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>{}</Mode>"
        "<RetainUntilDate>{}</RetainUntilDate></Retention>",
        config_.lock_mode, iso8601_days_from_now(days)));
    HttpRequest req = signed_request("PUT", url + "?retention=", retention);
    req.headers.push_back("Content-MD5: " + md5_base64(retention));
    LB_RETURN_IF_ERROR(http_.perform_with_retry(req, r));
    if (r.status != 200) return error_for(r, what + " (setting its retention)");
  }
  return Status::ok();
}

Result<ThawState> S3Backend::thaw_state(std::string_view name) {
  LB_ASSIGN_OR_RETURN(HttpResponse r, head(name));
  if (!archive_class(r.header("x-amz-storage-class"))) return ThawState::kReadable;
  // x-amz-restore: ongoing-request="true" while thawing; "false" plus an
  // expiry date once the thawed copy is readable.
  std::string restore = r.header("x-amz-restore");
  if (restore.find("ongoing-request=\"true\"") != std::string::npos) return ThawState::kThawing;
  if (restore.find("ongoing-request=\"false\"") != std::string::npos) return ThawState::kReadable;
  return ThawState::kArchived;
}

Status S3Backend::thaw(std::string_view name, int days) {
  if (!valid_object_name(name)) return invalid_object_name(name);
  Bytes body = to_bytes(fmt::format(
      "<RestoreRequest xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Days>{}</Days>"
      "<GlacierJobParameters><Tier>{}</Tier></GlacierJobParameters></RestoreRequest>",
      std::max(days, 1), config_.thaw_tier));
  HttpResponse r;
  HttpRequest req = signed_request("POST", object_url(name) + "?restore=", body);
  req.headers.push_back("Content-Type: application/xml");  // not curl's form encoding for a POST
  LB_RETURN_IF_ERROR(http_.perform_with_retry(req, r));
  // 202: started; 200: already thawed (the expiry is extended); 409: already thawing.
  if (r.status == 200 || r.status == 202) return Status::ok();
  if (r.status == 409 && s3_error(r).first == "RestoreAlreadyInProgress") return Status::ok();
  return error_for(r, "unable to thaw " + std::string(name));
}

Result<bool> S3Backend::set_retention(int days) {
  if (days <= 0) {
    retention_days_ = 0;
    return false;
  }
  HttpResponse r;
  LB_RETURN_IF_ERROR(http_.perform_with_retry(signed_request("GET", bucket_url() + "/?object-lock="), r));
  auto [code, message] = s3_error(r);
  if (r.status == 404 && code == "NoSuchBucket") {
    // init: create() will make the bucket with Object Lock enabled.
    create_locked_ = true;
    retention_days_ = days;
    return true;
  }
  if (r.status == 200) {
    auto x = parse_xml(r.body);
    if (x.is_ok() && x->value("ObjectLockConfiguration/ObjectLockEnabled") == "Enabled") {
      retention_days_ = days;
      return true;
    }
    return false;
  }
  // No lock configuration (ObjectLockConfigurationNotFoundError), or a
  // store without Object Lock: the retention stays the repository's own.
  if (r.status == 404 || r.status == 400 || r.status == 501) return false;
  return error_for(r, fmt::format("unable to read the Object Lock configuration of bucket \"{}\"", config_.bucket));
}

Status S3Backend::remove(std::string_view name) {
  if (!valid_object_name(name)) return invalid_object_name(name);
  // S3 answers 204 for a missing object too: the contract wants kNotFound.
  LB_RETURN_IF_ERROR(stat(name).status());
  HttpResponse r;
  LB_RETURN_IF_ERROR(http_.perform_with_retry(signed_request("DELETE", object_url(name)), r));
  if (r.status != 204 && r.status != 200) return error_for(r, "unable to remove " + std::string(name));
  return Status::ok();
}

Result<HttpResponse> S3Backend::head(std::string_view name) {
  if (!valid_object_name(name)) return invalid_object_name(name);
  HttpResponse r;
  std::string url = object_url(name);
  LB_RETURN_IF_ERROR(http_.perform_with_retry(signed_request("HEAD", url), r));
  if (r.status == 404) return Status(ErrorCode::kNotFound, fmt::format("{} not found in {}", name, location()));
  if (r.status != 200) return error_for(r, "unable to stat " + std::string(name), url);
  return r;
}

Result<ObjectInfo> S3Backend::stat(std::string_view name) {
  LB_ASSIGN_OR_RETURN(HttpResponse r, head(name));
  bool archived = archive_class(r.header("x-amz-storage-class")) &&
                  r.header("x-amz-restore").find("ongoing-request=\"false\"") == std::string::npos;
  return ObjectInfo{std::string(name), std::strtoull(r.header("content-length").c_str(), nullptr, 10), archived};
}

}  // namespace lifeboat::storage
