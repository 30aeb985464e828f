// A repository in a local directory. Objects are files; write() goes to a
// hidden temporary in the target directory, is fsynced, renamed into place
// and the directory fsynced, so a crash at any point leaves the old state or
// the new object, never a partial one.
#pragma once

#include <mutex>
#include <set>
#include <string>

#include "storage/backend.h"

namespace lifeboat::storage {

class LocalBackend final : public Backend {
 public:
  // `root` need not exist until create().
  explicit LocalBackend(std::string root, bool durable = true);

  std::string location() const override { return root_; }
  Status create() override;
  Result<std::vector<ObjectInfo>> list(std::string_view prefix) override;
  Result<Bytes> read(std::string_view name, uint64_t offset, uint64_t length) override;
  Status read_into(std::string_view name, uint64_t offset, uint64_t length, Bytes& out) override;
  Status write(std::string_view name, ByteSpan data) override;
  Status remove(std::string_view name) override;
  Result<ObjectInfo> stat(std::string_view name) override;

  // Temporaries start with this and are skipped by list().

 private:
  std::string path_of(std::string_view name) const;
  Status ensure_dir(const std::string& dir);

  std::string root_;
  bool durable_;
  std::mutex mu_;
  std::set<std::string> known_dirs_;
};

}  // namespace lifeboat::storage
