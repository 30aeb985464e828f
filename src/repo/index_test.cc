#include "repo/index.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "unit/test_util.h"
#include "util/encoding.h"

namespace lifeboat::repo {
namespace {

Id id_of(uint64_t n) {
  Id id;
  lifeboat::testing::SplitMix64 rng(n);
  for (size_t i = 0; i < 32; i += 8) {
    uint64_t v = rng.next();
    for (size_t k = 0; k < 8; ++k) id.bytes[i + k] = static_cast<uint8_t>(v >> (8 * k));
  }
  return id;
}

Id filled(uint8_t b) {
  Id id;
  id.bytes.fill(b);
  return id;
}

PackEntry entry(const Id& id, uint32_t offset, uint32_t length, uint32_t raw,
                BlobType type = BlobType::kData, Compression c = Compression::kZstd) {
  PackEntry e;
  e.id = id;
  e.type = type;
  e.compression = c;
  e.offset = offset;
  e.length = length;
  e.raw_length = raw;
  return e;
}

void expect_entry_eq(const PackEntry& a, const PackEntry& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.compression, b.compression);
  EXPECT_EQ(a.offset, b.offset);
  EXPECT_EQ(a.length, b.length);
  EXPECT_EQ(a.raw_length, b.raw_length);
  EXPECT_EQ(a.base, b.base);
}

PackEntry delta(const Id& id, uint32_t offset, uint32_t length, const Id& base) {
  PackEntry e = entry(id, offset, length, 16384, BlobType::kData, Compression::kZstdDelta);
  e.base = base;
  return e;
}

// body := "LBI1" varint(npacks) (pack_id[32] varint(nblobs) (type comp id[32]
// varint(offset) varint(length) varint(raw_length)){nblobs}){npacks}
TEST(IndexEncoding, Golden) {
  std::vector<IndexPack> packs = {{filled(0xaa), {entry(filled(0xbb), 0, 100, 300)}}};
  EXPECT_EQ(hex_encode(encode_index(packs)),
            "4c42493101aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa010001bbbbbbbbbbbbbbbbbbbbbbbbb"
            "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb0064ac02");
}

TEST(IndexEncoding, RoundTrip) {
  std::vector<IndexPack> packs;
  for (int p = 0; p < 5; ++p) {
    IndexPack ip{id_of(1000 + p), {}};
    uint32_t off = 0;
    for (int i = 0; i < p * 3; ++i) {
      uint32_t len = 45 + static_cast<uint32_t>(i) * 1000;
      ip.blobs.push_back(entry(id_of(p * 100 + i), off, len, len * 3, i % 2 ? BlobType::kTree : BlobType::kData,
                               i % 3 ? Compression::kZstd : Compression::kNone));
      off += len;
    }
    packs.push_back(ip);
  }
  packs[1].blobs.push_back(entry(id_of(7), UINT32_MAX, UINT32_MAX, UINT32_MAX));
  packs[2].blobs.push_back(delta(id_of(8), 9000, 70, id_of(1)));
  auto back = decode_index(encode_index(packs));
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  ASSERT_EQ(back->size(), packs.size());
  for (size_t p = 0; p < packs.size(); ++p) {
    EXPECT_EQ((*back)[p].pack_id, packs[p].pack_id);
    ASSERT_EQ((*back)[p].blobs.size(), packs[p].blobs.size());
    for (size_t i = 0; i < packs[p].blobs.size(); ++i) expect_entry_eq((*back)[p].blobs[i], packs[p].blobs[i]);
  }
  auto empty = decode_index(encode_index({}));
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->empty());
}

TEST(IndexEncoding, MalformedIsCorrupt) {
  std::vector<IndexPack> packs = {{filled(0xaa), {entry(filled(0xbb), 0, 100, 300), entry(filled(0xcc), 100, 5, 5)}}};
  Bytes good = encode_index(packs);
  auto expect_bad = [](ByteSpan b, const std::string& what) {
    auto r = decode_index(b);
    ASSERT_FALSE(r.is_ok()) << what;
    EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt) << what;
    EXPECT_EQ(r.status().message(), "index is malformed") << what;
  };
  for (size_t n = 0; n < good.size(); ++n) expect_bad(ByteSpan(good).first(n), "truncated to " + std::to_string(n));
  Bytes trailing = good;
  trailing.push_back(0);
  expect_bad(trailing, "trailing byte");
  Bytes magic = good;
  magic[3] = '2';
  expect_bad(magic, "magic");
  Bytes type = good;
  type[4 + 1 + 32 + 1] = 2;  // first blob's type
  expect_bad(type, "type 2");
  Bytes comp = good;
  comp[4 + 1 + 32 + 1 + 1] = 7;
  expect_bad(comp, "compression 7");
  Bytes many = to_bytes("LBI1");
  put_varint(many, uint64_t{1} << 60);
  expect_bad(many, "huge pack count");
  Bytes big_offset = to_bytes("LBI1");
  put_varint(big_offset, 1);
  append(big_offset, filled(1).span());
  put_varint(big_offset, 1);
  big_offset.push_back(0);
  big_offset.push_back(0);
  append(big_offset, filled(2).span());
  put_varint(big_offset, uint64_t{1} << 32);  // offset past 32 bits
  put_varint(big_offset, 1);
  put_varint(big_offset, 1);
  expect_bad(big_offset, "offset overflow");
}

TEST(Index, AddAndLookup) {
  Index index;
  Id pack = filled(0x01);
  std::vector<PackEntry> entries = {entry(id_of(1), 0, 100, 200), entry(id_of(2), 100, 50, 50, BlobType::kTree)};
  index.add_pack(pack, entries);
  EXPECT_EQ(index.blob_count(), 2u);
  EXPECT_EQ(index.pack_count(), 1u);
  EXPECT_TRUE(index.has_pack(pack));
  EXPECT_FALSE(index.has_pack(filled(0x02)));
  EXPECT_EQ(index.pack_ids(), std::vector<Id>{pack});
  for (const auto& e : entries) {
    auto loc = index.lookup(e.id);
    ASSERT_TRUE(loc);
    EXPECT_EQ(loc->pack_id, pack);
    expect_entry_eq(loc->entry, e);
    EXPECT_TRUE(index.contains(e.id));
  }
  EXPECT_FALSE(index.lookup(id_of(3)));
  EXPECT_FALSE(index.contains(id_of(3)));
}

TEST(Index, DeltasKeepTheirBase) {
  Index index;
  std::vector<PackEntry> entries = {entry(id_of(1), 0, 100, 200), delta(id_of(2), 100, 50, id_of(1))};
  index.add_pack(filled(0x01), entries);
  auto loc = index.lookup(id_of(2));
  ASSERT_TRUE(loc);
  expect_entry_eq(loc->entry, entries[1]);
  EXPECT_TRUE(index.lookup(id_of(1))->entry.base.is_zero());
  size_t deltas = 0;
  index.for_each([&](const Id&, const PackEntry& e) {
    if (e.is_delta()) {
      deltas++;
      EXPECT_EQ(e.base, id_of(1));
    }
  });
  EXPECT_EQ(deltas, 1u);
  // A delta of a tree, or one cut short before its base, is malformed.
  std::vector<IndexPack> packs = {{filled(0x01), {delta(id_of(2), 0, 50, id_of(1))}}};
  Bytes good = encode_index(packs);
  EXPECT_TRUE(decode_index(good).is_ok());
  EXPECT_FALSE(decode_index(ByteSpan(good).first(good.size() - 1)).is_ok());
  packs[0].blobs[0].type = BlobType::kTree;
  EXPECT_FALSE(decode_index(encode_index(packs)).is_ok());
}

TEST(Index, DuplicateBlobKeepsFirstLocation) {
  Index index;
  index.add_pack(filled(1), {entry(id_of(1), 0, 100, 200)});
  index.add_pack(filled(2), {entry(id_of(1), 500, 10, 20), entry(id_of(2), 0, 1, 1)});
  EXPECT_EQ(index.blob_count(), 2u);
  EXPECT_EQ(index.pack_count(), 2u);
  auto loc = index.lookup(id_of(1));
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc->pack_id, filled(1));
  EXPECT_EQ(loc->entry.offset, 0u);
  // Adding the same pack twice does not double it.
  index.add_pack(filled(1), {entry(id_of(1), 0, 100, 200)});
  EXPECT_EQ(index.pack_count(), 2u);
  EXPECT_EQ(index.blob_count(), 2u);
}

TEST(Index, ReserveSemantics) {
  Index index;
  index.add_pack(filled(1), {entry(id_of(1), 0, 100, 200)});
  EXPECT_FALSE(index.reserve(id_of(1), BlobType::kData)) << "stored blobs cannot be reserved";
  EXPECT_TRUE(index.reserve(id_of(2), BlobType::kData));
  EXPECT_FALSE(index.reserve(id_of(2), BlobType::kData)) << "reserved once";
  EXPECT_TRUE(index.contains(id_of(2)));
  EXPECT_FALSE(index.lookup(id_of(2))) << "a reservation has no location";
  EXPECT_EQ(index.blob_count(), 1u);
  int seen = 0;
  index.for_each([&](const Id&, const PackEntry& e) {
    EXPECT_EQ(e.id, id_of(1));
    seen++;
  });
  EXPECT_EQ(seen, 1);
  // Storing a reserved blob turns it into a real entry.
  index.add_pack(filled(2), {entry(id_of(2), 0, 7, 7)});
  auto loc = index.lookup(id_of(2));
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc->pack_id, filled(2));
  EXPECT_EQ(index.blob_count(), 2u);
}

TEST(Index, DropReservationsKeepsStoredBlobs) {
  Index index;
  index.add_pack(filled(1), {entry(id_of(1), 0, 100, 200)});
  for (uint64_t i = 10; i < 300; ++i) ASSERT_TRUE(index.reserve(id_of(i), BlobType::kData));
  index.drop_reservations();
  EXPECT_TRUE(index.contains(id_of(1)));
  ASSERT_TRUE(index.lookup(id_of(1)));
  EXPECT_EQ(index.lookup(id_of(1))->entry.raw_length, 200u);
  EXPECT_EQ(index.blob_count(), 1u);
  for (uint64_t i = 10; i < 300; ++i) {
    EXPECT_FALSE(index.contains(id_of(i))) << i;
    EXPECT_TRUE(index.reserve(id_of(i), BlobType::kData)) << i;
  }
}

TEST(Index, ManyBlobsAcrossGrowth) {
  Index index;
  constexpr uint32_t kPacks = 50, kPerPack = 2000;
  for (uint32_t p = 0; p < kPacks; ++p) {
    std::vector<PackEntry> es;
    for (uint32_t i = 0; i < kPerPack; ++i) es.push_back(entry(id_of(p * kPerPack + i), i * 10, 10, p));
    index.add_pack(id_of(1'000'000 + p), es);
  }
  EXPECT_EQ(index.blob_count(), kPacks * kPerPack);
  EXPECT_EQ(index.pack_count(), kPacks);
  for (uint32_t p = 0; p < kPacks; ++p)
    for (uint32_t i = 0; i < kPerPack; i += 7) {
      auto loc = index.lookup(id_of(p * kPerPack + i));
      ASSERT_TRUE(loc) << p << "/" << i;
      EXPECT_EQ(loc->pack_id, id_of(1'000'000 + p));
      EXPECT_EQ(loc->entry.offset, i * 10);
      EXPECT_EQ(loc->entry.raw_length, p);
    }
  std::map<Id, int> per_pack;
  size_t n = 0;
  index.for_each([&](const Id& pack, const PackEntry&) {
    per_pack[pack]++;
    n++;
  });
  EXPECT_EQ(n, kPacks * kPerPack);
  for (const auto& [pack, count] : per_pack) EXPECT_EQ(count, static_cast<int>(kPerPack));
}

// Two workers meeting the same new chunk store it once: of many threads
// racing to reserve the same ids, exactly one wins each id.
TEST(Index, ConcurrentReserveReservesOnce) {
  Index index;
  constexpr int kThreads = 4, kIds = 20000;
  std::vector<std::atomic<int>> wins(kIds);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < kIds; ++k) {
        int i = (k * (t + 1) * 7919) % kIds;  // different orders per thread
        if (index.reserve(id_of(static_cast<uint64_t>(i)), BlobType::kData)) wins[i]++;
      }
    });
  for (auto& th : threads) th.join();
  for (int i = 0; i < kIds; ++i) ASSERT_EQ(wins[i].load(), 1) << "id " << i;
}

TEST(Index, ConcurrentAddAndLookup) {
  Index index;
  constexpr int kWriters = 2, kPacks = 200, kPerPack = 50;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!done.load()) {
      for (int i = 0; i < kWriters * kPacks * kPerPack; i += 97) {
        auto loc = index.lookup(id_of(static_cast<uint64_t>(i)));
        if (loc && loc->entry.length != 10) bad++;
      }
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w)
    writers.emplace_back([&, w] {
      for (int p = 0; p < kPacks; ++p) {
        std::vector<PackEntry> es;
        for (int i = 0; i < kPerPack; ++i)
          es.push_back(entry(id_of(static_cast<uint64_t>((w * kPacks + p) * kPerPack + i)), 0, 10, 10));
        index.add_pack(id_of(5'000'000 + static_cast<uint64_t>(w * kPacks + p)), es);
      }
    });
  for (auto& t : writers) t.join();
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(index.blob_count(), static_cast<size_t>(kWriters * kPacks * kPerPack));
  EXPECT_EQ(index.pack_count(), static_cast<size_t>(kWriters * kPacks));
}

}  // namespace
}  // namespace lifeboat::repo
