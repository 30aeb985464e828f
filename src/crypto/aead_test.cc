#include "crypto/aead.h"

#include <string>

#include <gtest/gtest.h>

#include "util/encoding.h"

namespace lifeboat::crypto {
namespace {

Key256 counting_key() {
  Key256 k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i);
  return k;
}

Bytes counting_nonce() {
  Bytes n(kNonceSize);
  for (size_t i = 0; i < n.size(); ++i) n[i] = static_cast<uint8_t>(0xa0 + i);
  return n;
}

Bytes from_hex(std::string_view h) {
  auto b = hex_decode(h);
  EXPECT_TRUE(b) << h;
  return b ? *b : Bytes{};
}

constexpr std::string_view kPlain = "lifeboat golden vector";
constexpr std::string_view kAad = "aad";
constexpr std::string_view kAuthFailed = "authentication failed (data was modified or the key is wrong)";

TEST(Aead, SealOpenRoundTrip) {
  Aead aead(counting_key());
  Bytes sealed;
  aead.seal(as_bytes(kPlain), as_bytes(kAad), sealed);
  EXPECT_EQ(sealed.size(), kPlain.size() + kAeadOverhead);
  Bytes out;
  ASSERT_TRUE(aead.open(sealed, as_bytes(kAad), out).is_ok());
  EXPECT_EQ(as_string_view(out), kPlain);
}

TEST(Aead, EmptyPlaintextAndEmptyAad) {
  Aead aead(counting_key());
  Bytes sealed;
  aead.seal({}, {}, sealed);
  EXPECT_EQ(sealed.size(), kAeadOverhead);
  Bytes out;
  ASSERT_TRUE(aead.open(sealed, {}, out).is_ok());
  EXPECT_TRUE(out.empty());
}

TEST(Aead, SealAndOpenAppend) {
  Aead aead(counting_key());
  Bytes sealed = to_bytes("prefix");
  aead.seal(as_bytes(kPlain), as_bytes(kAad), sealed);
  EXPECT_EQ(as_string_view(ByteSpan(sealed).first(6)), "prefix");
  Bytes out = to_bytes("head:");
  ASSERT_TRUE(aead.open(ByteSpan(sealed).subspan(6), as_bytes(kAad), out).is_ok());
  EXPECT_EQ(as_string_view(out), std::string("head:") + std::string(kPlain));
}

TEST(Aead, RandomNonceMakesEverySealDifferent) {
  Aead aead(counting_key());
  Bytes a, b;
  aead.seal(as_bytes(kPlain), {}, a);
  aead.seal(as_bytes(kPlain), {}, b);
  EXPECT_NE(a, b);
  EXPECT_NE(Bytes(a.begin(), a.begin() + kNonceSize), Bytes(b.begin(), b.begin() + kNonceSize));
}

// Golden vector: AES-256-GCM, key 00..1f, nonce a0..ab (computed with
// Python's `cryptography` package). Pins the sealed layout nonce||ct||tag.
TEST(Aead, GoldenVector) {
  Aead aead(counting_key());
  Bytes sealed;
  aead.seal_with_nonce(as_bytes(kPlain), as_bytes(kAad), counting_nonce(), sealed);
  EXPECT_EQ(hex_encode(sealed),
            "a0a1a2a3a4a5a6a7a8a9aaab8a711a4827a463cb4202e8bf631faefe06c93a64fdc5735c3fe11ae81ba18f27095ae936d8ec");
  Bytes empty;
  aead.seal_with_nonce({}, {}, counting_nonce(), empty);
  EXPECT_EQ(hex_encode(empty), "a0a1a2a3a4a5a6a7a8a9aaab5c699625af4b93a0f8220a2a6119c5d0");
}

TEST(Aead, OpensGoldenVector) {
  Aead aead(counting_key());
  Bytes out;
  ASSERT_TRUE(aead.open(from_hex("a0a1a2a3a4a5a6a7a8a9aaab8a711a4827a463cb4202e8bf631faefe06c93a64fdc5735c3fe11ae81"
                                 "ba18f27095ae936d8ec"),
                        as_bytes(kAad), out)
                  .is_ok());
  EXPECT_EQ(as_string_view(out), kPlain);
}

TEST(Aead, SealInPlaceHasSealLayout) {
  Aead aead(counting_key());
  Bytes buf = to_bytes("XYZ");
  buf.resize(3 + kNonceSize);  // reserved for the nonce
  append(buf, kPlain);
  aead.seal_in_place(buf, 3, as_bytes(kAad));
  ASSERT_EQ(buf.size(), 3 + kNonceSize + kPlain.size() + kTagSize);
  EXPECT_EQ(as_string_view(ByteSpan(buf).first(3)), "XYZ");
  ByteSpan sealed = ByteSpan(buf).subspan(3);
  // The same bytes seal() produces with that nonce.
  Bytes expected;
  aead.seal_with_nonce(as_bytes(kPlain), as_bytes(kAad), sealed.first(kNonceSize), expected);
  EXPECT_EQ(Bytes(sealed.begin(), sealed.end()), expected);
  Bytes out;
  ASSERT_TRUE(aead.open(sealed, as_bytes(kAad), out).is_ok());
  EXPECT_EQ(as_string_view(out), kPlain);
}

TEST(Aead, SealInPlaceEmptyPlaintext) {
  Aead aead(counting_key());
  Bytes buf(kNonceSize);
  aead.seal_in_place(buf, 0, {});
  ASSERT_EQ(buf.size(), kAeadOverhead);
  Bytes out;
  EXPECT_TRUE(aead.open(buf, {}, out).is_ok());
  EXPECT_TRUE(out.empty());
}

TEST(Aead, AnyFlippedBitInSealedDataFails) {
  Aead aead(counting_key());
  Bytes sealed;
  aead.seal(as_bytes(kPlain), as_bytes(kAad), sealed);
  for (size_t i = 0; i < sealed.size() * 8; ++i) {
    Bytes bad = sealed;
    bad[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
    Bytes out = to_bytes("keep");
    Status s = aead.open(bad, as_bytes(kAad), out);
    ASSERT_EQ(s.code(), ErrorCode::kCorrupt) << "bit " << i;
    EXPECT_EQ(s.message(), kAuthFailed);
    EXPECT_EQ(as_string_view(out), "keep") << "unauthenticated plaintext was handed out, bit " << i;
  }
}

TEST(Aead, AnyFlippedBitInAadFails) {
  Aead aead(counting_key());
  Bytes sealed;
  aead.seal(as_bytes(kPlain), as_bytes(kAad), sealed);
  for (size_t i = 0; i < kAad.size() * 8; ++i) {
    Bytes aad = to_bytes(kAad);
    aad[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
    Bytes out;
    EXPECT_EQ(aead.open(sealed, aad, out).code(), ErrorCode::kCorrupt) << "bit " << i;
  }
  Bytes out;
  EXPECT_EQ(aead.open(sealed, {}, out).code(), ErrorCode::kCorrupt);
  EXPECT_EQ(aead.open(sealed, as_bytes("aadx"), out).code(), ErrorCode::kCorrupt);
}

TEST(Aead, WrongKeyFails) {
  Bytes sealed;
  Aead(counting_key()).seal(as_bytes(kPlain), {}, sealed);
  Key256 other = counting_key();
  other[31] ^= 1;
  Bytes out;
  Status s = Aead(other).open(sealed, {}, out);
  EXPECT_EQ(s.code(), ErrorCode::kCorrupt);
  EXPECT_EQ(s.message(), kAuthFailed);
}

TEST(Aead, TruncatedOrExtendedDataFails) {
  Aead aead(counting_key());
  Bytes sealed;
  aead.seal(as_bytes(kPlain), {}, sealed);
  for (size_t n = 0; n < sealed.size(); ++n) {
    Bytes out;
    Status s = aead.open(ByteSpan(sealed).first(n), {}, out);
    EXPECT_EQ(s.code(), ErrorCode::kCorrupt) << n;
    if (n < kAeadOverhead) {
      EXPECT_EQ(s.message(), "sealed data too short");
    }
  }
  Bytes longer = sealed;
  longer.push_back(0);
  Bytes out;
  EXPECT_EQ(aead.open(longer, {}, out).code(), ErrorCode::kCorrupt);
}

TEST(Aead, LargePlaintextRoundTrip) {
  Aead aead(counting_key());
  Bytes plain(3 << 20);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<uint8_t>(i * 31 + (i >> 12));
  Bytes sealed;
  aead.seal(plain, as_bytes(kAad), sealed);
  Bytes out;
  ASSERT_TRUE(aead.open(sealed, as_bytes(kAad), out).is_ok());
  EXPECT_TRUE(out == plain);
}

}  // namespace
}  // namespace lifeboat::crypto
