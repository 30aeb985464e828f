#include "storage/object_store.h"

#include <cstdlib>
#include <ctime>

#include <fmt/format.h>

#include "storage/object_name.h"

namespace lifeboat::storage {

ResponseCheck xml_into(XmlElements& out) {
  return [&out](const HttpResponse& resp) -> Status {
    if (resp.status != 200) return Status::ok();
    auto parsed = parse_xml(resp.body);
    if (parsed.is_ok()) out = std::move(*parsed);
    return parsed.status();
  };
}

ResponseCheck whole_read(std::string_view name, uint64_t offset) {
  return [name = std::string(name), offset](const HttpResponse& resp) -> Status {
    if (resp.status != 200 && resp.status != 206) return Status::ok();
    std::string len = resp.header("content-length");
    if (!len.empty() && std::strtoull(len.c_str(), nullptr, 10) != resp.body.size())
      return Status(ErrorCode::kUnavailable, fmt::format("short read of {}", name));
    if (resp.status == 206 && !resp.header("content-range").starts_with(fmt::format("bytes {}-", offset)))
      return Status(ErrorCode::kUnavailable, fmt::format("wrong range returned for {}", name));
    if (resp.status == 200 && offset > 0)
      return Status(ErrorCode::kUnavailable, fmt::format("range ignored for {}", name));
    return Status::ok();
  };
}

std::string byte_range(uint64_t offset, uint64_t length) {
  std::string last = length == kToEnd || offset + length < offset ? "" : std::to_string(offset + length - 1);
  return fmt::format("bytes={}-{}", offset, last);
}

bool take_read_body(HttpResponse& r, uint64_t length, Bytes& out) {
  if (r.status == 416) {
    out.clear();
    return true;
  }
  if (r.status != 200 && r.status != 206) return false;
  out = std::move(r.body);
  if (r.status == 200 && length != kToEnd && out.size() > length) out.resize(length);
  return true;
}

void collect_listing(const XmlElements& page, const ListingFields& fields, std::string_view prefix,
                     std::vector<ObjectInfo>& out) {
  std::string key, size, storage_class, modified;
  for (const auto& [path, value] : page.items) {
    if (path == fields.name) key = value;
    if (path == fields.size) size = value;
    if (path == fields.storage_class) storage_class = value;
    if (path == fields.modified) modified = value;
    if (path == fields.entry) {
      if (key.starts_with(prefix)) {
        std::string name = key.substr(prefix.size());
        if (valid_object_name(name))
          out.push_back({name, std::strtoull(size.c_str(), nullptr, 10), fields.archived(storage_class),
                         parse_http_time(modified)});
      }
      modified.clear();
      key.clear();
      size.clear();
      storage_class.clear();
    }
  }
}

int64_t parse_http_time(std::string_view text) {
  std::string t(text);
  struct tm tm {};
  const char* end = ::strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) end = ::strptime(t.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (!end) return 0;
  return static_cast<int64_t>(::timegm(&tm)) * 1'000'000'000;
}

Status require_empty(Backend& backend) {
  LB_ASSIGN_OR_RETURN(auto existing, backend.list(""));
  if (!existing.empty())
    return Status(ErrorCode::kAlreadyExists, fmt::format("{} is not empty", backend.location()));
  return Status::ok();
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace lifeboat::storage
