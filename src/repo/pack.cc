#include "repo/pack.h"

#include <cstring>

#include <fmt/format.h>

#include "compress/zstd.h"
#include "util/encoding.h"

namespace lifeboat::repo {
namespace {

constexpr std::string_view kTocMagic = "LBP1";

Bytes header_aad(const Id& pack_id) {
  Bytes aad = to_bytes("pack");
  append(aad, pack_id.span());
  return aad;
}

}  // namespace

const char* blob_type_name(BlobType t) { return t == BlobType::kTree ? "tree" : "data"; }

std::string pack_name(const Id& pack_id) {
  std::string hex = pack_id.hex();
  return "data/" + hex.substr(0, 2) + "/" + hex;
}

void put_delta_base(Bytes& out, const PackEntry& e) {
  if (e.is_delta()) append(out, e.base.span());
}

bool get_delta_base(ByteReader& r, uint8_t type, uint8_t compression, PackEntry& e) {
  if (compression != static_cast<uint8_t>(Compression::kZstdDelta)) return true;
  ByteSpan base;
  if (type != static_cast<uint8_t>(BlobType::kData) || !r.bytes(32, base)) return false;
  e.base = Id::from_span(base);
  return true;
}

Bytes blob_aad(BlobType type, const Id& id) {
  Bytes aad;
  aad.reserve(33);
  aad.push_back(static_cast<uint8_t>(type));
  append(aad, id.span());
  return aad;
}

PackWriter::PackWriter(const RepoKeys& keys, int compression_level, size_t reserve,
                       std::shared_ptr<BufferPool> pool)
    : keys_(keys), level_(compression_level), reserve_(reserve), pool_(std::move(pool)), pack_id_(Id::random()) {}

Bytes& PackWriter::buffer() {
  if (!data_) data_ = pool_ ? pool_->acquire(reserve_) : std::make_shared<Bytes>();
  if (data_->empty() && reserve_ && data_->capacity() < reserve_) data_->reserve(reserve_);
  return *data_;
}

PackEntry PackWriter::next_entry(BlobType type, const Id& id, size_t raw_length) {
  PackEntry e;
  e.id = id;
  e.type = type;
  e.offset = static_cast<uint32_t>(buffer().size());
  e.raw_length = static_cast<uint32_t>(raw_length);
  return e;
}

// Compresses straight into the pack and seals there in place, so the
// plaintext is not copied. Kept when the compressed form is shorter than
// `limit` bytes; otherwise the pack is as it was and the caller stores the
// blob another way.
bool PackWriter::append_compressed(PackEntry e, size_t limit, const std::function<size_t(MutableByteSpan)>& compress) {
  Bytes& data = buffer();
  size_t body = e.offset + keys_.seal_header_size();
  data.resize(body + compress::zstd_compress_bound(e.raw_length));
  size_t n = compress(MutableByteSpan(data.data() + body, data.size() - body));
  if (n >= limit) {
    data.resize(e.offset);
    return false;
  }
  data.resize(body + n);
  keys_.seal_in_place(data, e.offset, blob_aad(e.type, e.id));
  e.length = static_cast<uint32_t>(data.size() - e.offset);
  entries_.push_back(e);
  return true;
}

void PackWriter::add(BlobType type, const Id& id, ByteSpan plaintext) {
  PackEntry e = next_entry(type, id, plaintext.size());
  if (level_ > 0 && plaintext.size() > 64) {
    e.compression = Compression::kZstd;
    if (append_compressed(e, plaintext.size(), [&](MutableByteSpan out) {
          return compress::zstd_compress_into(plaintext, level_, out);
        }))
      return;
    e.compression = Compression::kNone;
  }
  // Data that does not compress is encrypted from the caller's buffer into
  // the pack.
  Bytes& data = buffer();
  keys_.seal(plaintext, blob_aad(type, id), data);
  e.length = static_cast<uint32_t>(data.size() - e.offset);
  entries_.push_back(e);
}

bool PackWriter::add_delta(const Id& id, ByteSpan plaintext, const Id& base, ByteSpan base_plaintext,
                           size_t max_stored) {
  if (level_ <= 0 || max_stored <= kEnvelopeOverhead) return false;
  PackEntry e = next_entry(BlobType::kData, id, plaintext.size());
  e.compression = Compression::kZstdDelta;
  e.base = base;
  return append_compressed(e, max_stored - kEnvelopeOverhead, [&](MutableByteSpan out) {
    return compress::zstd_compress_with_prefix(plaintext, base_plaintext, level_, out);
  });
}

void PackWriter::add_stored(const PackEntry& from, ByteSpan stored) {
  Bytes& data = buffer();
  PackEntry e = from;
  e.offset = static_cast<uint32_t>(data.size());
  keys_.seal(stored, blob_aad(e.type, e.id), data);
  e.length = static_cast<uint32_t>(data.size() - e.offset);
  entries_.push_back(e);
}

uint64_t pack_header_size(const std::vector<PackEntry>& entries) {
  auto varint_size = [](uint64_t v) {
    uint64_t n = 1;
    while (v >= 0x80) {
      v >>= 7;
      n++;
    }
    return n;
  };
  uint64_t toc = kTocMagic.size() + varint_size(entries.size());
  for (const auto& e : entries)
    toc += 2 + 32 + varint_size(e.length) + varint_size(e.raw_length) + (e.is_delta() ? 32 : 0);
  return toc + kEnvelopeOverhead + 4;
}

PackWriter::Finished PackWriter::finish() {
  Bytes toc = to_bytes(kTocMagic);
  put_varint(toc, entries_.size());
  for (const auto& e : entries_) {
    toc.push_back(static_cast<uint8_t>(e.type));
    toc.push_back(static_cast<uint8_t>(e.compression));
    append(toc, e.id.span());
    put_varint(toc, e.length);
    put_varint(toc, e.raw_length);
    put_delta_base(toc, e);
  }
  if (!data_) data_ = std::make_shared<Bytes>();
  Bytes& data = *data_;
  size_t header_start = data.size();
  keys_.seal(toc, header_aad(pack_id_), data);
  put_fixed32(data, static_cast<uint32_t>(data.size() - header_start));
  Finished f{pack_id_, std::move(data_), std::move(entries_)};
  pack_id_ = Id::random();
  data_.reset();
  entries_.clear();
  return f;
}

Result<std::vector<PackEntry>> parse_pack_header(const RepoKeys& keys, const Id& pack_id, uint64_t pack_size,
                                                 ByteSpan tail, uint64_t* needed) {
  auto corrupt = [&](std::string_view what) {
    return Status(ErrorCode::kCorrupt, fmt::format("pack {} is damaged: {}", pack_id.short_hex(), what));
  };
  if (tail.size() < 4 || tail.size() > pack_size) return corrupt("too short");
  uint32_t header_len = get_fixed32(tail.data() + tail.size() - 4);
  if (uint64_t{header_len} + 4 > pack_size) return corrupt("header length out of range");
  if (uint64_t{header_len} + 4 > tail.size()) {
    if (needed) *needed = uint64_t{header_len} + 4;
    return Status(ErrorCode::kNotFound, "pack header needs more bytes");
  }
  ByteSpan sealed = tail.subspan(tail.size() - 4 - header_len, header_len);
  Bytes toc;
  Status s = keys.open(sealed, header_aad(pack_id), toc);
  if (!s.is_ok()) return corrupt(fmt::format("header: {}", s.message()));
  ByteReader r(toc);
  ByteSpan magic;
  uint64_t n;
  if (!r.bytes(4, magic) || as_string_view(magic) != kTocMagic || !r.varint(n) || n > toc.size())
    return corrupt("header is malformed");
  std::vector<PackEntry> entries;
  entries.reserve(static_cast<size_t>(n));
  uint64_t offset = 0;
  for (uint64_t i = 0; i < n; ++i) {
    PackEntry e;
    uint8_t type, comp;
    ByteSpan id;
    uint64_t len, raw;
    if (!r.u8(type) || !r.u8(comp) || !r.bytes(32, id) || !r.varint(len) || !r.varint(raw) || type > 1 ||
        comp > 2 || len < kEnvelopeOverhead || raw > UINT32_MAX)
      return corrupt("header entry is malformed");
    if (!get_delta_base(r, type, comp, e)) return corrupt("header entry is malformed");
    e.type = static_cast<BlobType>(type);
    e.compression = static_cast<Compression>(comp);
    e.id = Id::from_span(id);
    e.offset = static_cast<uint32_t>(offset);
    e.length = static_cast<uint32_t>(len);
    e.raw_length = static_cast<uint32_t>(raw);
    offset += len;
    if (offset > UINT32_MAX) return corrupt("header entry is malformed");
    entries.push_back(e);
  }
  if (!r.done()) return corrupt("header has trailing bytes");
  if (offset + header_len + 4 != pack_size)
    return corrupt(fmt::format("blobs cover {} bytes, header {} bytes, but the pack has {} bytes", offset,
                               header_len + 4, pack_size));
  return entries;
}

bool is_box(ByteSpan sealed) { return envelope_epoch(sealed) == kBoxEpoch; }

namespace {

Status open_plain(const RepoKeys& keys, const PackEntry& entry, ByteSpan sealed, Bytes& out, ByteSpan base) {
  if (entry.compression == Compression::kNone) {
    size_t start = out.size();
    LB_RETURN_IF_ERROR(keys.open(sealed, blob_aad(entry.type, entry.id), out));
    if (out.size() - start != entry.raw_length) {
      out.resize(start);
      return Status(ErrorCode::kCorrupt, "blob has the wrong length");
    }
    return Status::ok();
  }
  if (entry.is_delta() && base.empty() && entry.raw_length > 0)
    return Status(ErrorCode::kCorrupt, fmt::format("blob {} is a delta and its base {} was not given",
                                                   entry.id.short_hex(), entry.base.short_hex()));
  thread_local Bytes stored;
  stored.clear();
  LB_RETURN_IF_ERROR(keys.open(sealed, blob_aad(entry.type, entry.id), stored));
  if (entry.is_delta()) return compress::zstd_decompress_with_prefix(stored, base, entry.raw_length, out);
  return compress::zstd_decompress(stored, entry.raw_length, out);
}

// Anyone can seal a box for the recovery key, so a box proves nothing about
// who wrote it: its content must match the id it is stored under.
Status check_box_content(const RepoKeys& keys, const PackEntry& entry, ByteSpan plaintext) {
  if (keys.blob_id(plaintext) == entry.id) return Status::ok();
  return Status(ErrorCode::kCorrupt, "content does not match its id (a blob written with a write-only key)");
}

}  // namespace

Status open_stored(const RepoKeys& keys, const PackEntry& entry, ByteSpan sealed, Bytes& out) {
  out.clear();
  LB_RETURN_IF_ERROR(keys.open(sealed, blob_aad(entry.type, entry.id), out));
  if (!is_box(sealed)) return Status::ok();
  if (entry.is_delta()) return Status(ErrorCode::kCorrupt, "a delta sealed with a write-only key");
  if (entry.compression == Compression::kNone) return check_box_content(keys, entry, out);
  Bytes plain;
  LB_RETURN_IF_ERROR(compress::zstd_decompress(out, entry.raw_length, plain));
  return check_box_content(keys, entry, plain);
}

Status open_blob(const RepoKeys& keys, const PackEntry& entry, ByteSpan sealed, Bytes& out, ByteSpan base) {
  size_t start = out.size();
  LB_RETURN_IF_ERROR(open_plain(keys, entry, sealed, out, base));
  if (!is_box(sealed)) return Status::ok();
  if (entry.is_delta()) {
    out.resize(start);
    return Status(ErrorCode::kCorrupt, "a delta sealed with a write-only key");
  }
  Status s = check_box_content(keys, entry, ByteSpan(out).subspan(start));
  if (!s.is_ok()) out.resize(start);
  return s;
}

}  // namespace lifeboat::repo
