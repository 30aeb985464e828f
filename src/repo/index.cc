#include "repo/index.h"

#include <fmt/format.h>

#include "util/encoding.h"

namespace lifeboat::repo {

namespace {
constexpr std::string_view kIndexMagic = "LBI1";
constexpr uint32_t kNoPack = UINT32_MAX;  // a reservation, not yet stored
}  // namespace

Bytes encode_index(const std::vector<IndexPack>& packs) {
  Bytes out = to_bytes(kIndexMagic);
  put_varint(out, packs.size());
  for (const auto& p : packs) {
    append(out, p.pack_id.span());
    put_varint(out, p.blobs.size());
    for (const auto& e : p.blobs) {
      out.push_back(static_cast<uint8_t>(e.type));
      out.push_back(static_cast<uint8_t>(e.compression));
      append(out, e.id.span());
      put_varint(out, e.offset);
      put_varint(out, e.length);
      put_varint(out, e.raw_length);
      put_delta_base(out, e);
    }
  }
  return out;
}

Result<std::vector<IndexPack>> decode_index(ByteSpan body) {
  auto bad = [] { return Status(ErrorCode::kCorrupt, "index is malformed"); };
  ByteReader r(body);
  ByteSpan magic;
  uint64_t npacks;
  if (!r.bytes(4, magic) || as_string_view(magic) != kIndexMagic || !r.varint(npacks) || npacks > body.size())
    return bad();
  std::vector<IndexPack> packs(static_cast<size_t>(npacks));
  for (auto& p : packs) {
    ByteSpan id;
    uint64_t n;
    if (!r.bytes(32, id) || !r.varint(n) || n > r.remaining()) return bad();
    p.pack_id = Id::from_span(id);
    p.blobs.resize(static_cast<size_t>(n));
    for (auto& e : p.blobs) {
      uint8_t type, comp;
      ByteSpan bid;
      uint64_t off, len, raw;
      if (!r.u8(type) || !r.u8(comp) || !r.bytes(32, bid) || !r.varint(off) || !r.varint(len) || !r.varint(raw) ||
          type > 1 || comp > 2 || off > UINT32_MAX || len > UINT32_MAX || raw > UINT32_MAX)
        return bad();
      if (!get_delta_base(r, type, comp, e)) return bad();
      e.type = static_cast<BlobType>(type);
      e.compression = static_cast<Compression>(comp);
      e.id = Id::from_span(bid);
      e.offset = static_cast<uint32_t>(off);
      e.length = static_cast<uint32_t>(len);
      e.raw_length = static_cast<uint32_t>(raw);
    }
  }
  if (!r.done()) return bad();
  return packs;
}

// ---------------------------------------------------------------- in memory

struct Index::Slot {
  Id id;
  uint32_t pack = kNoPack;
  uint32_t offset = 0;
  uint32_t length = 0;
  uint32_t raw_length = 0;
  uint8_t type = 0;
  uint8_t compression = 0;
  bool used = false;
};

struct Index::Shard {
  mutable std::shared_mutex mu;
  std::vector<Slot> slots;  // power-of-two size, linear probing
  // The bases of stored deltas, which are few (a slot has no room for one).
  std::unordered_map<Id, Id, IdHash> bases;
  size_t used = 0;
  size_t stored = 0;

  size_t home(const Id& id) const {
    uint64_t h;
    std::memcpy(&h, id.bytes.data(), sizeof h);  // shard selection uses byte 31
    return static_cast<size_t>(h) & (slots.size() - 1);
  }
  const Slot* find(const Id& id) const {
    if (slots.empty()) return nullptr;
    for (size_t i = home(id);; i = (i + 1) & (slots.size() - 1)) {
      const Slot& s = slots[i];
      if (!s.used) return nullptr;
      if (s.id == id) return &s;
    }
  }
  Slot* find(const Id& id) { return const_cast<Slot*>(static_cast<const Shard*>(this)->find(id)); }
  Slot& insert_new(const Id& id) {
    if ((used + 1) * 4 > slots.size() * 3) grow();
    size_t i = home(id);
    while (slots[i].used) i = (i + 1) & (slots.size() - 1);
    slots[i].used = true;
    slots[i].id = id;
    ++used;
    return slots[i];
  }
  void grow() {
    std::vector<Slot> old = std::move(slots);
    slots.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    used = 0;
    for (const Slot& s : old) {
      if (!s.used) continue;
      Slot& n = insert_new(s.id);
      n = s;
    }
  }
};

Index::Index() : shards_(new Shard[kShards]) {}
Index::~Index() = default;

static size_t shard_of(const Id& id) { return id.bytes[31] % 64; }

uint32_t Index::pack_index(const Id& pack_id) {
  std::unique_lock lock(packs_mu_);
  auto [it, inserted] = pack_by_id_.emplace(pack_id, static_cast<uint32_t>(packs_.size()));
  if (inserted) packs_.push_back(pack_id);
  return it->second;
}

void Index::add_pack(const Id& pack_id, const std::vector<PackEntry>& entries) {
  uint32_t p = pack_index(pack_id);
  for (const auto& e : entries) {
    Shard& sh = shards_[shard_of(e.id)];
    std::unique_lock lock(sh.mu);
    Slot* s = sh.find(e.id);
    if (s && s->pack != kNoPack) continue;  // already stored elsewhere
    if (!s) s = &sh.insert_new(e.id);
    s->pack = p;
    s->offset = e.offset;
    s->length = e.length;
    s->raw_length = e.raw_length;
    s->type = static_cast<uint8_t>(e.type);
    s->compression = static_cast<uint8_t>(e.compression);
    if (e.is_delta()) sh.bases[e.id] = e.base;
    ++sh.stored;
  }
}

std::optional<BlobLocation> Index::lookup(const Id& blob_id) const {
  const Shard& sh = shards_[shard_of(blob_id)];
  uint32_t pack;
  PackEntry e;
  {
    std::shared_lock lock(sh.mu);
    const Slot* s = sh.find(blob_id);
    if (!s || s->pack == kNoPack) return std::nullopt;
    pack = s->pack;
    e.id = blob_id;
    e.offset = s->offset;
    e.length = s->length;
    e.raw_length = s->raw_length;
    e.type = static_cast<BlobType>(s->type);
    e.compression = static_cast<Compression>(s->compression);
    if (e.is_delta()) e.base = sh.bases.at(blob_id);
  }
  std::shared_lock lock(packs_mu_);
  return BlobLocation{packs_[pack], e};
}

bool Index::contains(const Id& blob_id) const {
  const Shard& sh = shards_[shard_of(blob_id)];
  std::shared_lock lock(sh.mu);
  return sh.find(blob_id) != nullptr;
}

bool Index::reserve(const Id& blob_id, BlobType type) {
  Shard& sh = shards_[shard_of(blob_id)];
  {
    std::shared_lock lock(sh.mu);
    if (sh.find(blob_id)) return false;
  }
  std::unique_lock lock(sh.mu);
  if (sh.find(blob_id)) return false;
  Slot& s = sh.insert_new(blob_id);
  s.type = static_cast<uint8_t>(type);
  return true;
}

void Index::drop_reservations() {
  for (size_t i = 0; i < kShards; ++i) {
    Shard& sh = shards_[i];
    std::unique_lock lock(sh.mu);
    std::vector<Slot> keep;
    for (const Slot& s : sh.slots)
      if (s.used && s.pack != kNoPack) keep.push_back(s);
    sh.slots.assign(sh.slots.size(), Slot{});
    sh.used = 0;
    for (const Slot& s : keep) sh.insert_new(s.id) = s;
  }
}

size_t Index::blob_count() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::shared_lock lock(shards_[i].mu);
    n += shards_[i].stored;
  }
  return n;
}

size_t Index::pack_count() const {
  std::shared_lock lock(packs_mu_);
  return packs_.size();
}

bool Index::has_pack(const Id& pack_id) const {
  std::shared_lock lock(packs_mu_);
  return pack_by_id_.count(pack_id) != 0;
}

std::vector<Id> Index::pack_ids() const {
  std::shared_lock lock(packs_mu_);
  return packs_;
}

void Index::for_each(const std::function<void(const Id&, const PackEntry&)>& fn) const {
  std::vector<Id> packs = pack_ids();
  for (size_t i = 0; i < kShards; ++i) {
    std::shared_lock lock(shards_[i].mu);
    for (const Slot& s : shards_[i].slots) {
      if (!s.used || s.pack == kNoPack) continue;
      PackEntry e;
      e.id = s.id;
      e.offset = s.offset;
      e.length = s.length;
      e.raw_length = s.raw_length;
      e.type = static_cast<BlobType>(s.type);
      e.compression = static_cast<Compression>(s.compression);
      if (e.is_delta()) e.base = shards_[i].bases.at(s.id);
      fn(packs[s.pack], e);
    }
  }
}

}  // namespace lifeboat::repo
