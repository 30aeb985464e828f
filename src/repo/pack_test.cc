#include "repo/pack.h"

#include <gtest/gtest.h>

#include "unit/test_util.h"
#include "util/encoding.h"

namespace lifeboat::repo {
namespace {

MasterKey test_master() {
  MasterKey m;
  m.data_keys.push_back(DataKey{1, {}, 0});
  for (size_t i = 0; i < 32; ++i) {
    m.data_keys[0].key[i] = static_cast<uint8_t>(3 * i + 1);
    m.id_key[i] = static_cast<uint8_t>(i);
  }
  return m;
}

Bytes text(size_t n) {
  Bytes b;
  while (b.size() < n) append(b, "all work and no play makes jack a dull boy. ");
  b.resize(n);
  return b;
}

struct Built {
  PackWriter::Finished pack;
  std::vector<Bytes> plaintexts;
};

// Three kinds of blob: compressible text (zstd), random bytes (raw: zstd
// does not pay), and a tiny blob (raw: 64 bytes or less).
Built build_pack(const RepoKeys& keys, int level = 3) {
  Built b;
  b.plaintexts = {text(10000), lifeboat::testing::splitmix_bytes(9, 5000), to_bytes("tiny"), text(65), Bytes{}};
  PackWriter w(keys, level);
  for (const auto& p : b.plaintexts) w.add(BlobType::kData, keys.blob_id(p), p);
  EXPECT_EQ(w.count(), b.plaintexts.size());
  b.pack = w.finish();
  return b;
}

TEST(PackName, TwoHexDirectory) {
  auto id = *Id::from_hex("ab00000000000000000000000000000000000000000000000000000000000001");
  EXPECT_EQ(pack_name(id), "data/ab/ab00000000000000000000000000000000000000000000000000000000000001");
}

TEST(BlobAad, TypeThenId) {
  Id id;
  id.bytes.fill(0x11);
  Bytes aad = blob_aad(BlobType::kTree, id);
  ASSERT_EQ(aad.size(), 33u);
  EXPECT_EQ(aad[0], 1);
  EXPECT_EQ(aad[32], 0x11);
}

TEST(PackWriter, RoundTripThroughHeader) {
  RepoKeys keys(test_master());
  Built b = build_pack(keys);
  const Bytes& data = *b.pack.data;
  auto entries = parse_pack_header(keys, b.pack.pack_id, data.size(), data);
  ASSERT_TRUE(entries.is_ok()) << entries.status().message();
  ASSERT_EQ(entries->size(), b.plaintexts.size());
  uint32_t offset = 0;
  for (size_t i = 0; i < entries->size(); ++i) {
    const PackEntry& e = (*entries)[i];
    const PackEntry& w = b.pack.entries[i];
    EXPECT_EQ(e.id, keys.blob_id(b.plaintexts[i]));
    EXPECT_EQ(e.id, w.id);
    EXPECT_EQ(e.type, BlobType::kData);
    EXPECT_EQ(e.compression, w.compression);
    EXPECT_EQ(e.offset, offset) << "blobs lie back to back";
    EXPECT_EQ(e.offset, w.offset);
    EXPECT_EQ(e.length, w.length);
    EXPECT_EQ(e.raw_length, b.plaintexts[i].size());
    offset += e.length;
    Bytes out;
    Status s = open_blob(keys, e, ByteSpan(data).subspan(e.offset, e.length), out);
    ASSERT_TRUE(s.is_ok()) << i << ": " << s.message();
    EXPECT_TRUE(out == b.plaintexts[i]) << i;
  }
}

// pack_header_size() is what finish() writes after the blobs (prune relies
// on it to see blob bytes no index entry covers).
TEST(PackWriter, HeaderSizeIsWhatFinishWrites) {
  RepoKeys keys(test_master());
  Built b = build_pack(keys);
  uint64_t blobs = 0;
  for (const auto& e : b.pack.entries) blobs += e.length;
  EXPECT_EQ(b.pack.data->size(), blobs + pack_header_size(b.pack.entries));
}

// Repack: blobs move to a new pack in their stored form, without being
// compressed again, and open to the same plaintext there.
TEST(PackWriter, AddStoredMovesBlobsBetweenPacks) {
  RepoKeys keys(test_master());
  Built b = build_pack(keys);
  const Bytes& old_data = *b.pack.data;
  PackWriter w(keys, 3);
  Bytes stored;
  for (size_t i : {size_t{0}, size_t{1}, size_t{4}}) {  // zstd, raw, empty
    const PackEntry& e = b.pack.entries[i];
    ASSERT_TRUE(open_stored(keys, e, ByteSpan(old_data).subspan(e.offset, e.length), stored).is_ok());
    w.add_stored(e, stored);
  }
  auto moved = w.finish();
  auto entries = parse_pack_header(keys, moved.pack_id, moved.data->size(), *moved.data);
  ASSERT_TRUE(entries.is_ok()) << entries.status().message();
  ASSERT_EQ(entries->size(), 3u);
  size_t k = 0;
  for (size_t i : {size_t{0}, size_t{1}, size_t{4}}) {
    const PackEntry& e = (*entries)[k++];
    EXPECT_EQ(e.id, b.pack.entries[i].id);
    EXPECT_EQ(e.compression, b.pack.entries[i].compression);
    EXPECT_EQ(e.length, b.pack.entries[i].length) << "same stored size, a fresh nonce";
    Bytes out;
    ASSERT_TRUE(open_blob(keys, e, ByteSpan(*moved.data).subspan(e.offset, e.length), out).is_ok());
    EXPECT_TRUE(out == b.plaintexts[i]) << i;
  }
  // A damaged blob does not open into its stored form.
  Bytes bad = old_data;
  bad[b.pack.entries[0].offset + 20] ^= 1;
  const PackEntry& e0 = b.pack.entries[0];
  EXPECT_FALSE(open_stored(keys, e0, ByteSpan(bad).subspan(e0.offset, e0.length), stored).is_ok());
}

TEST(PackWriter, DeltaRoundTripsThroughHeaderAndNeedsItsBase) {
  RepoKeys keys(test_master());
  Bytes base = lifeboat::testing::splitmix_bytes(11, 16384);
  Bytes next = base;
  next[100] ^= 0xff;
  Id base_id = keys.blob_id(base), id = keys.blob_id(next);
  PackWriter w(keys, 3);
  EXPECT_FALSE(w.add_delta(id, next, base_id, base, 40)) << "over max_stored: nothing added";
  EXPECT_TRUE(w.empty());
  ASSERT_TRUE(w.add_delta(id, next, base_id, base, 8192));
  w.add(BlobType::kData, base_id, base);
  auto f = w.finish();
  EXPECT_EQ(f.data->size(), pack_header_size(f.entries) + f.entries[0].length + f.entries[1].length);
  auto entries = parse_pack_header(keys, f.pack_id, f.data->size(), *f.data);
  ASSERT_TRUE(entries.is_ok()) << entries.status().message();
  ASSERT_EQ(entries->size(), 2u);
  const PackEntry& e = (*entries)[0];
  EXPECT_TRUE(e.is_delta());
  EXPECT_EQ(e.base, base_id);
  EXPECT_FALSE((*entries)[1].is_delta());
  EXPECT_LT(e.length, 200u);
  ByteSpan sealed(f.data->data() + e.offset, e.length);
  Bytes out;
  EXPECT_EQ(open_blob(keys, e, sealed, out).code(), ErrorCode::kCorrupt) << "no base given";
  ASSERT_TRUE(open_blob(keys, e, sealed, out, base).is_ok());
  EXPECT_EQ(out, next);
  // Repacking keeps the base.
  Bytes stored;
  ASSERT_TRUE(open_stored(keys, e, sealed, stored).is_ok());
  PackWriter w2(keys, 3);
  w2.add_stored(e, stored);
  auto f2 = w2.finish();
  auto entries2 = parse_pack_header(keys, f2.pack_id, f2.data->size(), *f2.data);
  ASSERT_TRUE(entries2.is_ok());
  EXPECT_EQ((*entries2)[0].base, base_id);
}

TEST(PackWriter, CompressesOnlyWhenItPays) {
  RepoKeys keys(test_master());
  Built b = build_pack(keys);
  const auto& e = b.pack.entries;
  EXPECT_EQ(e[0].compression, Compression::kZstd);
  EXPECT_LT(e[0].length, 10000u / 4);
  EXPECT_EQ(e[1].compression, Compression::kNone);  // random
  EXPECT_EQ(e[1].length, 5000 + kEnvelopeOverhead);
  EXPECT_EQ(e[2].compression, Compression::kNone);  // tiny
  EXPECT_EQ(e[2].length, 4 + kEnvelopeOverhead);
  EXPECT_EQ(e[4].length, kEnvelopeOverhead);  // empty blob
  Built raw = build_pack(keys, /*level=*/0);
  for (const auto& entry : raw.pack.entries) EXPECT_EQ(entry.compression, Compression::kNone);
}

TEST(PackWriter, FinishResetsForTheNextPack) {
  RepoKeys keys(test_master());
  PackWriter w(keys, 3, 1 << 16, BufferPool::create(2));
  w.add(BlobType::kTree, keys.blob_id(as_bytes("t")), as_bytes("t"));
  EXPECT_FALSE(w.empty());
  EXPECT_GT(w.size(), 0u);
  auto first = w.finish();
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.size(), 0u);
  w.add(BlobType::kTree, keys.blob_id(as_bytes("u")), as_bytes("u"));
  auto second = w.finish();
  EXPECT_NE(first.pack_id, second.pack_id);
  ASSERT_EQ(second.entries.size(), 1u);
  EXPECT_EQ(second.entries[0].offset, 0u);
  auto entries = parse_pack_header(keys, second.pack_id, second.data->size(), *second.data);
  ASSERT_TRUE(entries.is_ok());
  EXPECT_EQ((*entries)[0].type, BlobType::kTree);
}

TEST(PackWriter, EmptyPackHasOnlyAHeader) {
  RepoKeys keys(test_master());
  PackWriter w(keys, 3);
  auto p = w.finish();
  auto entries = parse_pack_header(keys, p.pack_id, p.data->size(), *p.data);
  ASSERT_TRUE(entries.is_ok()) << entries.status().message();
  EXPECT_TRUE(entries->empty());
}

TEST(ParsePackHeader, HeaderLengthTrailer) {
  RepoKeys keys(test_master());
  Built b = build_pack(keys);
  const Bytes& data = *b.pack.data;
  uint32_t header_len = get_fixed32(data.data() + data.size() - 4);
  uint64_t blobs = 0;
  for (const auto& e : b.pack.entries) blobs += e.length;
  EXPECT_EQ(blobs + header_len + 4, data.size());
}

// Tiling: the entries must cover the pack exactly. Bytes added in front of
// (or removed from) the blob area are detected from the header alone.
TEST(ParsePackHeader, ExtendedPackIsCorrupt) {
  RepoKeys keys(test_master());
  Built b = build_pack(keys);
  Bytes longer = to_bytes("0123456789");
  append(longer, *b.pack.data);
  auto r = parse_pack_header(keys, b.pack.pack_id, longer.size(), longer);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt);
  uint32_t header_len = get_fixed32(longer.data() + longer.size() - 4);
  uint64_t blobs = b.pack.data->size() - header_len - 4;
  EXPECT_EQ(r.status().message(), "pack " + b.pack.pack_id.short_hex() + " is damaged: blobs cover " +
                                      std::to_string(blobs) + " bytes, header " + std::to_string(header_len + 4) +
                                      " bytes, but the pack has " + std::to_string(longer.size()) + " bytes");
}

TEST(ParsePackHeader, TruncatedPackIsCorrupt) {
  RepoKeys keys(test_master());
  Built b = build_pack(keys);
  const Bytes& data = *b.pack.data;
  Bytes front_cut(data.begin() + 1, data.end());
  auto r = parse_pack_header(keys, b.pack.pack_id, front_cut.size(), front_cut);
  EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt);
  EXPECT_NE(r.status().message().find("blobs cover"), std::string::npos) << r.status().message();
  for (size_t cut : {size_t{1}, size_t{3}, size_t{4}, size_t{100}, data.size() - 4}) {
    ByteSpan tail = ByteSpan(data).first(data.size() - cut);
    auto t = parse_pack_header(keys, b.pack.pack_id, tail.size(), tail);
    EXPECT_EQ(t.status().code(), ErrorCode::kCorrupt) << "cut " << cut << ": " << t.status().message();
  }
  auto tiny = parse_pack_header(keys, b.pack.pack_id, 3, ByteSpan(data).first(3));
  EXPECT_EQ(tiny.status().message(), "pack " + b.pack.pack_id.short_hex() + " is damaged: too short");
}

TEST(ParsePackHeader, ShortTailAsksForMore) {
  RepoKeys keys(test_master());
  Built b = build_pack(keys);
  const Bytes& data = *b.pack.data;
  uint32_t header_len = get_fixed32(data.data() + data.size() - 4);
  uint64_t needed = 0;
  auto r = parse_pack_header(keys, b.pack.pack_id, data.size(), ByteSpan(data).last(10), &needed);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(needed, header_len + 4u);
  auto ok = parse_pack_header(keys, b.pack.pack_id, data.size(), ByteSpan(data).last(needed));
  EXPECT_TRUE(ok.is_ok()) << ok.status().message();
}

TEST(ParsePackHeader, WrongPackIdOrDamagedHeaderIsCorrupt) {
  RepoKeys keys(test_master());
  Built b = build_pack(keys);
  const Bytes& data = *b.pack.data;
  Id other = Id::random();
  auto r = parse_pack_header(keys, other, data.size(), data);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(r.status().message(), "pack " + other.short_hex() +
                                      " is damaged: header: authentication failed (data was modified or the key is "
                                      "wrong)");
  Bytes flipped = data;
  flipped[flipped.size() - 10] ^= 1;
  EXPECT_EQ(parse_pack_header(keys, b.pack.pack_id, flipped.size(), flipped).status().code(), ErrorCode::kCorrupt);
  MasterKey m = test_master();
  m.data_keys[0].key[0] ^= 1;
  EXPECT_EQ(parse_pack_header(RepoKeys(m), b.pack.pack_id, data.size(), data).status().code(), ErrorCode::kCorrupt);
}

TEST(OpenBlob, FlippedByteIsCorrupt) {
  RepoKeys keys(test_master());
  Built b = build_pack(keys);
  Bytes data = *b.pack.data;
  for (size_t i : {size_t{0}, size_t{1}}) {  // a zstd blob and a raw one
    const PackEntry& e = b.pack.entries[i];
    for (size_t at : {size_t{0}, size_t{5}, size_t{e.length / 2}, size_t{e.length - 1}}) {
      Bytes damaged = data;
      damaged[e.offset + at] ^= 0x04;
      Bytes out;
      Status s = open_blob(keys, e, ByteSpan(damaged).subspan(e.offset, e.length), out);
      EXPECT_EQ(s.code(), ErrorCode::kCorrupt) << "blob " << i << " byte " << at;
      EXPECT_TRUE(out.empty());
    }
    // The header is separate: the pack still parses.
    Bytes damaged = data;
    damaged[e.offset + 20] ^= 0x04;
    EXPECT_TRUE(parse_pack_header(keys, b.pack.pack_id, damaged.size(), damaged).is_ok());
  }
}

TEST(OpenBlob, EntryMustMatchTheBlob) {
  RepoKeys keys(test_master());
  Built b = build_pack(keys);
  const Bytes& data = *b.pack.data;
  PackEntry e = b.pack.entries[1];  // raw
  ByteSpan sealed = ByteSpan(data).subspan(e.offset, e.length);
  Bytes out;
  PackEntry other_id = e;
  other_id.id.bytes[0] ^= 1;
  EXPECT_EQ(open_blob(keys, other_id, sealed, out).code(), ErrorCode::kCorrupt);
  PackEntry other_type = e;
  other_type.type = BlobType::kTree;
  EXPECT_EQ(open_blob(keys, other_type, sealed, out).code(), ErrorCode::kCorrupt);
  PackEntry wrong_len = e;
  wrong_len.raw_length += 1;
  Status s = open_blob(keys, wrong_len, sealed, out);
  EXPECT_EQ(s.code(), ErrorCode::kCorrupt);
  EXPECT_EQ(s.message(), "blob has the wrong length");
  PackEntry z = b.pack.entries[0];  // zstd
  z.raw_length -= 1;
  EXPECT_EQ(open_blob(keys, z, ByteSpan(data).subspan(z.offset, z.length), out).code(), ErrorCode::kCorrupt);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace lifeboat::repo
