// Packs: data/<2 hex>/<pack id>, many sealed blobs and a sealed table of
// contents (docs/FORMAT.md, "packs").
//
//   pack   := blob* header header_length[4, LE]
//   blob   := envelope(stored)          aad = type[1] blob_id[32]
//   stored := plaintext | zstd(plaintext) | zstd(plaintext, prefix = base's plaintext)
//   header := envelope(toc)             aad = "pack" pack_id[32]
//   toc    := "LBP1" varint(n) entry{n}
//   entry  := type[1] compression[1] blob_id[32] varint(length) varint(raw_length) [base_id[32]]
//
// base_id is there only for compression 2 (a delta): the blob was
// compressed against the plaintext of an earlier version of the same data
// (a database page range's previous content), which must be a data blob
// that is not a delta itself.
//
// Blobs lie back to back from offset 0 in toc order, so offsets are implicit
// and every byte of a pack is covered by an authentication tag.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "repo/id.h"
#include "repo/keys.h"
#include "util/buffer_pool.h"
#include "util/bytes.h"
#include "util/encoding.h"
#include "util/status.h"

namespace lifeboat::repo {

enum class BlobType : uint8_t { kData = 0, kTree = 1 };
const char* blob_type_name(BlobType t);

enum class Compression : uint8_t { kNone = 0, kZstd = 1, kZstdDelta = 2 };

struct PackEntry {
  Id id;
  BlobType type = BlobType::kData;
  Compression compression = Compression::kNone;
  uint32_t offset = 0;      // of the sealed blob in the pack
  uint32_t length = 0;      // of the sealed blob
  uint32_t raw_length = 0;  // of the plaintext
  Id base;                  // kZstdDelta only: the blob it was compressed against

  bool is_delta() const { return compression == Compression::kZstdDelta; }
};

std::string pack_name(const Id& pack_id);  // "data/ab/abcd..."

// The base id that follows a delta's entry, in pack headers and index files
// alike: put_delta_base() writes it (nothing for other entries);
// get_delta_base() reads it after an entry's type and compression, and
// fails on a delta that is not a data blob or is cut short.
void put_delta_base(Bytes& out, const PackEntry& e);
bool get_delta_base(ByteReader& r, uint8_t type, uint8_t compression, PackEntry& e);
Bytes blob_aad(BlobType type, const Id& id);

// Assembles one pack in memory. Not thread-safe; one writer per thread.
class PackWriter {
 public:
  // `reserve` pre-sizes the buffer (the pack size target) to avoid regrowth;
  // buffers come from `pool` when given.
  PackWriter(const RepoKeys& keys, int compression_level, size_t reserve = 0,
             std::shared_ptr<BufferPool> pool = nullptr);

  // Compresses (when it pays) and seals `plaintext`, and appends it.
  void add(BlobType type, const Id& id, ByteSpan plaintext);
  // Compresses `plaintext` against `base_plaintext` (the content of blob
  // `base`, a data blob that is no delta) and appends it if its stored form
  // is shorter than `max_stored` bytes; returns false, having added
  // nothing, when it is not (then add() it whole).
  bool add_delta(const Id& id, ByteSpan plaintext, const Id& base, ByteSpan base_plaintext, size_t max_stored);
  // Seals a blob's stored form (as open_stored() returns it: compressed or
  // not, per `from`) under the current keys and appends it; prune's repack,
  // which neither decompresses nor compresses again.
  void add_stored(const PackEntry& from, ByteSpan stored);
  size_t size() const { return data_ ? data_->size() : 0; }
  size_t count() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  struct Finished {
    Id pack_id;
    std::shared_ptr<Bytes> data;  // returns to the pool when released
    std::vector<PackEntry> entries;
  };
  // Seals the header and returns the pack; the writer is then empty again.
  Finished finish();

 private:
  Bytes& buffer();  // the pack being assembled, from the pool when there is one
  PackEntry next_entry(BlobType type, const Id& id, size_t raw_length);
  bool append_compressed(PackEntry e, size_t limit, const std::function<size_t(MutableByteSpan)>& compress);

  const RepoKeys& keys_;
  int level_;
  size_t reserve_;
  std::shared_ptr<BufferPool> pool_;
  Id pack_id_;
  std::shared_ptr<Bytes> data_;
  std::vector<PackEntry> entries_;
};

// Reads a pack's table of contents from its last `tail` bytes (the whole
// pack or at least header + 4 bytes). Checks that the entries tile the pack
// exactly. kCorrupt on any mismatch; `needed` is set when tail is too short.
Result<std::vector<PackEntry>> parse_pack_header(const RepoKeys& keys, const Id& pack_id, uint64_t pack_size,
                                                 ByteSpan tail, uint64_t* needed = nullptr);

// Opens a sealed blob into its stored form (compressed when
// entry.compression says so), replacing `out`'s contents. A blob sealed by
// a write-only key (a box, which anyone can make) is also checked against
// its id, here and in open_blob(); such a key cannot read a base, so a
// delta in a box is refused as damaged.
Status open_stored(const RepoKeys& keys, const PackEntry& entry, ByteSpan sealed, Bytes& out);

// The size a pack's sealed header takes for these entries, length field
// included, under a data key (a write-only key's box adds
// crypto::kX25519KeySize). Prune uses it to see blob bytes that no index
// entry covers at the end of a pack.
uint64_t pack_header_size(const std::vector<PackEntry>& entries);

// Whether sealed bytes are a box for the recovery key (a write-only key's).
bool is_box(ByteSpan sealed);

// Opens, decompresses and appends a blob's plaintext to `out` from its
// sealed bytes. A delta needs its base's plaintext in `base` (kCorrupt
// without). Does not recompute the blob id of blobs sealed with a data key
// (the AAD binds it); check --read-data does.
Status open_blob(const RepoKeys& keys, const PackEntry& entry, ByteSpan sealed, Bytes& out, ByteSpan base = {});

}  // namespace lifeboat::repo
