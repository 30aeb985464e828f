// Helpers for tests that need a repository: a backend handle that shares
// its store with the test (so the test can look at or damage objects), a
// write-fault hook, and cheap creation options.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "repo/repository.h"
#include "storage/backend.h"
#include "storage/mem_backend.h"

namespace lifeboat::testing {

// Forwards every call to a shared backend. `write_fault`, when set, may
// fail a write before it reaches the store.
class SharedBackend final : public storage::Backend {
 public:
  explicit SharedBackend(std::shared_ptr<storage::Backend> inner) : inner_(std::move(inner)) {}
  std::function<Status(std::string_view name)> write_fault;
  int connections_ = 1;              // what connections() reports (an object store's > 1)
  std::atomic<uint64_t> reads{0};    // read() calls
  // Damages what a read returns, as a network fault would (the store keeps
  // its bytes).
  std::function<void(std::string_view name, Bytes& data)> read_damage;

  std::string location() const override { return inner_->location(); }
  Status create() override { return inner_->create(); }
  Result<std::vector<storage::ObjectInfo>> list(std::string_view p) override { return inner_->list(p); }
  Result<Bytes> read(std::string_view n, uint64_t o, uint64_t l) override {
    reads++;
    auto r = inner_->read(n, o, l);
    if (r.is_ok() && read_damage) read_damage(n, *r);
    return r;
  }
  int connections() const override { return connections_; }
  Status write(std::string_view n, ByteSpan d) override {
    if (write_fault) LB_RETURN_IF_ERROR(write_fault(n));
    return inner_->write(n, d);
  }
  Status remove(std::string_view n) override { return inner_->remove(n); }
  Result<storage::ObjectInfo> stat(std::string_view n) override { return inner_->stat(n); }

 private:
  std::shared_ptr<storage::Backend> inner_;
};

// scrypt with N = 2^10: fine for repositories a test creates and never
// reopens (a reader refuses such a key file, by design).
inline crypto::ScryptParams cheap_kdf() { return {1024, 8, 1}; }

inline repo::CreateOptions cheap_options() {
  repo::CreateOptions o;
  o.kdf = cheap_kdf();
  o.hostname = "test-host";
  o.username = "tester";
  return o;
}

// Small chunks and packs, so a test exercises many of them with little data.
inline repo::CreateOptions small_options() {
  repo::CreateOptions o = cheap_options();
  o.chunker = {1024, 4096, 16384, 2};
  o.pack_size = 64 * 1024;
  return o;
}

struct MemRepo {
  std::shared_ptr<storage::MemBackend> mem;
  SharedBackend* backend = nullptr;  // owned by repo
  std::unique_ptr<repo::Repository> repo;
};

// A repository on a fresh in-memory store that the test can also reach.
inline MemRepo make_mem_repo(const Clock& clock, const repo::CreateOptions& options = cheap_options(),
                             std::string_view password = "pw", const std::string& name = "test") {
  MemRepo r;
  r.mem = std::make_shared<storage::MemBackend>(name);
  auto backend = std::make_unique<SharedBackend>(r.mem);
  r.backend = backend.get();
  auto created = repo::Repository::create(std::move(backend), password, options, clock);
  if (!created.is_ok()) throw std::runtime_error("create failed: " + created.status().message());
  r.repo = std::move(*created);
  return r;
}

}  // namespace lifeboat::testing
