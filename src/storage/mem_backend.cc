#include "storage/mem_backend.h"

#include "storage/object_name.h"

namespace lifeboat::storage {

Status MemBackend::create() {
  std::lock_guard lock(mu_);
  if (!objects_.empty()) return Status(ErrorCode::kAlreadyExists, location() + " is not empty");
  return Status::ok();
}

Result<std::vector<ObjectInfo>> MemBackend::list(std::string_view prefix) {
  if (!valid_list_prefix(prefix)) return std::vector<ObjectInfo>{};  // no valid name starts so
  std::lock_guard lock(mu_);
  std::vector<ObjectInfo> out;
  for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.starts_with(prefix); ++it)
    out.push_back({it->first, it->second.size()});
  return out;
}

Result<Bytes> MemBackend::read(std::string_view name, uint64_t offset, uint64_t length) {
  if (!valid_object_name(name)) return invalid_object_name(name);
  std::lock_guard lock(mu_);
  auto it = objects_.find(name);
  if (it == objects_.end()) return Status(ErrorCode::kNotFound, location() + "/" + std::string(name) + " not found");
  const Bytes& b = it->second;
  if (offset >= b.size()) return Bytes{};
  uint64_t n = std::min<uint64_t>(length, b.size() - offset);
  return to_bytes(ByteSpan(b).subspan(offset, n));
}

Status MemBackend::write(std::string_view name, ByteSpan data) {
  if (!valid_object_name(name)) return invalid_object_name(name);
  std::lock_guard lock(mu_);
  objects_[std::string(name)] = to_bytes(data);
  return Status::ok();
}

Status MemBackend::remove(std::string_view name) {
  if (!valid_object_name(name)) return invalid_object_name(name);
  std::lock_guard lock(mu_);
  auto it = objects_.find(name);
  if (it == objects_.end()) return Status(ErrorCode::kNotFound, location() + "/" + std::string(name) + " not found");
  objects_.erase(it);
  return Status::ok();
}

Result<ObjectInfo> MemBackend::stat(std::string_view name) {
  if (!valid_object_name(name)) return invalid_object_name(name);
  std::lock_guard lock(mu_);
  auto it = objects_.find(name);
  if (it == objects_.end()) return Status(ErrorCode::kNotFound, location() + "/" + std::string(name) + " not found");
  return ObjectInfo{std::string(name), it->second.size()};
}

void MemBackend::corrupt(const std::string& name, size_t offset, uint8_t xor_mask) {
  std::lock_guard lock(mu_);
  objects_.at(name).at(offset) ^= xor_mask;
}

}  // namespace lifeboat::storage
