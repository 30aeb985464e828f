#include "storage/object_store.h"

#include <cstdlib>

#include <fmt/format.h>

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

}  // namespace lifeboat::storage
