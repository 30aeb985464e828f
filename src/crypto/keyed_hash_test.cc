#include "crypto/keyed_hash.h"

#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "unit/test_util.h"
#include "util/encoding.h"

namespace lifeboat::crypto {
namespace {

std::string hex(const Digest256& d) { return hex_encode(ByteSpan(d.data(), d.size())); }

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(hex(sha256(as_bytes(""))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(sha256(as_bytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// RFC 4231, test cases 1 and 2.
TEST(Md5, Rfc1321Vectors) {
  auto h = [](std::string_view s) {
    auto d = md5(as_bytes(s));
    return hex_encode(ByteSpan(d.data(), d.size()));
  };
  EXPECT_EQ(h(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(h("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(h("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
}

TEST(HmacSha256, Rfc4231Vectors) {
  Bytes key1(20, 0x0b);
  EXPECT_EQ(hex(hmac_sha256(key1, as_bytes("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hex(hmac_sha256(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(KeyedHash, MatchesHmacSha256) {
  uint64_t seed = lifeboat::testing::test_seed();
  SCOPED_TRACE(lifeboat::testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  Key256 key;
  for (auto& b : key) b = static_cast<uint8_t>(rng());
  KeyedHash h(key);
  for (size_t n : {0, 1, 63, 64, 65, 1000, 100000}) {
    Bytes data(n);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    EXPECT_EQ(h.hash(data), hmac_sha256(key, data)) << n;
    EXPECT_EQ(h.hash(data), h.hash(data)) << "the keyed template must not be consumed by a call";
  }
}

TEST(KeyedHash, DependsOnTheKey) {
  Key256 a{}, b{};
  b[0] = 1;
  EXPECT_NE(KeyedHash(a).hash(as_bytes("same")), KeyedHash(b).hash(as_bytes("same")));
  EXPECT_NE(KeyedHash(a).hash(as_bytes("same")), sha256(as_bytes("same")));
}

TEST(KeyedHash, ConcurrentCallsAgree) {
  Key256 key{};
  key[5] = 42;
  KeyedHash h(key);
  Bytes data = lifeboat::testing::splitmix_bytes(7, 4096);
  Digest256 expected = hmac_sha256(key, data);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        if (h.hash(data) != expected) mismatches++;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace lifeboat::crypto
