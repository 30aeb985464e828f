// An in-memory backend for tests (and "mem:NAME" locations). Keeps the
// backend contract, minus durability across processes.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "storage/backend.h"

namespace lifeboat::storage {

class MemBackend final : public Backend {
 public:
  explicit MemBackend(std::string name = "mem") : name_(std::move(name)) {}

  std::string location() const override { return "mem:" + name_; }
  Status create() override;
  Result<std::vector<ObjectInfo>> list(std::string_view prefix) override;
  Result<Bytes> read(std::string_view name, uint64_t offset, uint64_t length) override;
  Status write(std::string_view name, ByteSpan data) override;
  Status remove(std::string_view name) override;
  Result<ObjectInfo> stat(std::string_view name) override;

  // Test access: change stored bytes behind the repository's back.
  void corrupt(const std::string& name, size_t offset, uint8_t xor_mask = 0x01);

 private:
  std::string name_;
  std::mutex mu_;
  std::map<std::string, Bytes, std::less<>> objects_;
};

}  // namespace lifeboat::storage
