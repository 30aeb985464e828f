// The index: which pack holds which blob.
//
// On storage (index/<id>, docs/FORMAT.md):
//   index := envelope(body)   aad = "index"
//   body  := "LBI1" varint(npacks) pack{npacks}
//   pack  := pack_id[32] varint(nblobs) blob{nblobs}
//   blob  := type[1] compression[1] blob_id[32] varint(offset) varint(length) varint(raw_length)
//            [base_id[32], for compression 2: a delta]
//
// In memory, Index is a sharded open-addressing hash table of ~52-byte slots
// (the id and its location), so memory grows with the number of blobs only.
// It also tracks blobs "reserved" by a running backup, so that two workers
// that meet the same new chunk store it once. All methods are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "repo/id.h"
#include "repo/pack.h"
#include "util/status.h"

namespace lifeboat::repo {

struct BlobLocation {
  Id pack_id;
  PackEntry entry;
};

struct IndexPack {
  Id pack_id;
  std::vector<PackEntry> blobs;  // offsets are explicit here
};

Bytes encode_index(const std::vector<IndexPack>& packs);
Result<std::vector<IndexPack>> decode_index(ByteSpan body);

class Index {
 public:
  Index();
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  // Records the blobs of a pack that is on storage. A blob already known
  // keeps its first location.
  void add_pack(const Id& pack_id, const std::vector<PackEntry>& entries);

  std::optional<BlobLocation> lookup(const Id& blob_id) const;
  // True if the blob is stored, or reserved by a writer in this process.
  bool contains(const Id& blob_id) const;
  // Claims a blob for storing: true if nobody stored or reserved it yet.
  bool reserve(const Id& blob_id, BlobType type);
  // Forgets reservations that never became stored (after a failed backup).
  void drop_reservations();

  size_t blob_count() const;
  size_t pack_count() const;
  bool has_pack(const Id& pack_id) const;
  std::vector<Id> pack_ids() const;

  // Calls fn for every stored blob (unordered). Not for use while writing.
  void for_each(const std::function<void(const Id& pack_id, const PackEntry&)>& fn) const;

 private:
  struct Slot;
  struct Shard;
  static constexpr size_t kShards = 64;
  uint32_t pack_index(const Id& pack_id);

  std::unique_ptr<Shard[]> shards_;
  mutable std::shared_mutex packs_mu_;
  std::vector<Id> packs_;
  std::unordered_map<Id, uint32_t, IdHash> pack_by_id_;
};

}  // namespace lifeboat::repo
