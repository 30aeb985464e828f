#include <map>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "storage/azure_backend.h"
#include "storage/backend.h"
#include "storage/local_backend.h"
#include "storage/mem_backend.h"
#include "storage/s3_backend.h"

namespace lifeboat::storage {
namespace {

// A MemBackend that outlives the handles opened on it, so "mem:x" opened
// twice in one process is the same store.
class SharedMem final : public Backend {
 public:
  explicit SharedMem(std::shared_ptr<MemBackend> mem) : mem_(std::move(mem)) {}
  std::string location() const override { return mem_->location(); }
  Status create() override { return mem_->create(); }
  Result<std::vector<ObjectInfo>> list(std::string_view p) override { return mem_->list(p); }
  Result<Bytes> read(std::string_view n, uint64_t o, uint64_t l) override { return mem_->read(n, o, l); }
  Status write(std::string_view n, ByteSpan d) override { return mem_->write(n, d); }
  Status remove(std::string_view n) override { return mem_->remove(n); }
  Result<ObjectInfo> stat(std::string_view n) override { return mem_->stat(n); }

 private:
  std::shared_ptr<MemBackend> mem_;
};

}  // namespace

Result<std::unique_ptr<Backend>> open_backend(std::string_view location) {
  if (location.empty())
    return Status(ErrorCode::kInvalidArgument, "no repository given: use --repo or set LIFEBOAT_REPOSITORY");
  if (location.starts_with("mem:")) {
    static std::mutex mu;
    static std::map<std::string, std::shared_ptr<MemBackend>, std::less<>> stores;
    std::lock_guard lock(mu);
    auto& mem = stores[std::string(location.substr(4))];
    if (!mem) mem = std::make_shared<MemBackend>(std::string(location.substr(4)));
    return std::unique_ptr<Backend>(std::make_unique<SharedMem>(mem));
  }
  if (location.starts_with("s3:") || location.starts_with("gs:")) {
    LB_ASSIGN_OR_RETURN(S3Config config, parse_s3_location(location));
    LB_RETURN_IF_ERROR(s3_config_from_environment(config));
    return std::unique_ptr<Backend>(std::make_unique<S3Backend>(std::move(config)));
  }
  if (location.starts_with("azure:")) {
    LB_ASSIGN_OR_RETURN(AzureConfig config, parse_azure_location(location));
    LB_RETURN_IF_ERROR(azure_config_from_environment(config));
    return std::unique_ptr<Backend>(std::make_unique<AzureBackend>(std::move(config)));
  }
  for (std::string_view scheme : {"sftp:", "rest:"}) {
    if (location.starts_with(scheme))
      return Status(ErrorCode::kUnsupported,
                    fmt::format("repository location \"{}\": the {} backend is not available in this build yet; "
                                "use a local path",
                                location, scheme.substr(0, scheme.size() - 1)));
  }
  std::string path(location);
  if (path.starts_with("local:")) path = path.substr(6);
  return std::unique_ptr<Backend>(std::make_unique<LocalBackend>(path));
}

}  // namespace lifeboat::storage
