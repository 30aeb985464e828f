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
  // In an archive class (S3 GLACIER / DEEP_ARCHIVE, Azure Archive): it must
  // be thawed (thaw()) before it can be read. Set by list().
  bool archived = false;
  // Last modified (written), when the store tells: list() on local disks,
  // S3 and Azure; 0 when unknown.
  int64_t mtime_ns = 0;
};

// Where an object in cold storage stands (thaw_state()).
enum class ThawState {
  kReadable,  // in a hot class, or thawed: read() works
  kArchived,  // needs thaw() before it can be read
  kThawing,   // thaw() was asked; the store is working on it
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

  // write() for data packs: drivers configured with a colder storage class
  // for data (LIFEBOAT_S3_STORAGE_CLASS_DATA, ...) put the object there.
  // Everything else (tree packs, index, snapshots, keys, locks) uses
  // write() and stays hot, so listing and planning never wait for a thaw.
  virtual Status write_cold(std::string_view name, ByteSpan data) { return write(name, data); }

  // Cold tiers. has_archive_tiers(): whether objects here can be archived at
  // all (else restore need not look). thaw_state() says whether `name` can
  // be read now; thaw()
  // asks the store to make an archived object readable for `days` days
  // (asking again while it thaws is harmless). Stores without archive
  // classes report everything readable.
  virtual bool has_archive_tiers() const { return false; }
  virtual Result<ThawState> thaw_state(std::string_view name) {
    (void)name;
    return ThawState::kReadable;
  }
  virtual Status thaw(std::string_view name, int days) {
    (void)name;
    (void)days;
    return Status::ok();
  }

  // Immutability at the store (S3 Object Lock): from now on, objects this
  // handle writes cannot be deleted or overwritten by anyone for `days`
  // days, when the container supports it. The repository calls this with
  // its --lock-days. Returns whether the store enforces it.
  virtual Result<bool> set_retention(int days) {
    (void)days;
    return false;
  }
};

// Opens a backend by location: a local path now (the object-storage
// drivers add "s3:", "azure:", "gs:" prefixes). "mem:NAME" is an in-process
// store for tests, shared by name within one process.
Result<std::unique_ptr<Backend>> open_backend(std::string_view location);

}  // namespace lifeboat::storage
