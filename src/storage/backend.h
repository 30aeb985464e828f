// The storage backend interface: a flat namespace of immutable objects.
//
// Names are relative paths with '/' separators ("config", "keys/<id>",
// "data/ab/<id>"). The contract every driver keeps (tests/storage
// conformance suite, backend_test.cc):
//   - write() is atomic: a reader sees the whole object or none of it, also
//     after the writing process is killed. An interrupted write leaves no
//     object under the name (drivers may leave hidden temporaries that
//     list() never returns).
//   - after write() returns ok, the object is durable (fsync for local disks)
//     and visible to read(), stat() and list() (read-after-write).
//   - objects are never modified in place; writing an existing name replaces
//     it whole (the repository only does this for content-named objects).
//   - read() of a missing object and remove() of a missing object fail with
//     kNotFound; transient failures carry the retryable bit.
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::storage {

struct ObjectInfo {
  std::string name;
  uint64_t size = 0;
};

inline constexpr uint64_t kToEnd = std::numeric_limits<uint64_t>::max();

class Backend {
 public:
  virtual ~Backend() = default;

  // A human-readable location for messages ("/srv/backup", "s3:...").
  virtual std::string location() const = 0;

  // Prepares an empty container (directory, bucket prefix). Fails with
  // kAlreadyExists if it holds objects already.
  virtual Status create() = 0;

  // All objects whose name starts with `prefix` ("data/" lists every pack).
  virtual Result<std::vector<ObjectInfo>> list(std::string_view prefix) = 0;

  // Reads `length` bytes at `offset` (kToEnd: to the end). Reading past the
  // end returns what there is; a short result is not an error.
  virtual Result<Bytes> read(std::string_view name, uint64_t offset = 0, uint64_t length = kToEnd) = 0;

  // read() into a caller's buffer, so a loop over many objects reuses one
  // allocation (no page faults and zeroing per read). `out` is resized to
  // what was read; drivers override this when they can read in place.
  virtual Status read_into(std::string_view name, uint64_t offset, uint64_t length, Bytes& out) {
    auto r = read(name, offset, length);
    if (!r.is_ok()) return r.status();
    out = std::move(*r);
    return Status::ok();
  }

  // How many requests callers should keep in flight: 1 for a local disk,
  // more for object stores, where each request waits on the network.
  virtual int connections() const { return 1; }

  virtual Status write(std::string_view name, ByteSpan data) = 0;
  virtual Status remove(std::string_view name) = 0;
  virtual Result<ObjectInfo> stat(std::string_view name) = 0;
};

// Opens a backend by location: a local path now (the object-storage
// drivers add "s3:", "azure:", "gs:" prefixes). "mem:NAME" is an in-process
// store for tests, shared by name within one process.
Result<std::unique_ptr<Backend>> open_backend(std::string_view location);

}  // namespace lifeboat::storage
