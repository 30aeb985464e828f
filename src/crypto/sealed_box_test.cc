#include "crypto/sealed_box.h"

#include <string>

#include <gtest/gtest.h>

#include "crypto/random.h"
#include "util/encoding.h"

namespace lifeboat::crypto {
namespace {

Key256 key_hex(std::string_view h) {
  auto b = hex_decode(h);
  EXPECT_TRUE(b && b->size() == 32) << h;
  Key256 k{};
  if (b && b->size() == 32) std::copy(b->begin(), b->end(), k.begin());
  return k;
}

std::string key_hex_string(const Key256& k) { return hex_encode(ByteSpan(k.data(), k.size())); }

X25519KeyPair random_pair() {
  Key256 seed;
  random_fill(seed);
  return x25519_from_seed(seed);
}

constexpr std::string_view kSealedPlain = "a backup host seals this and cannot open it";
constexpr std::string_view kSealedAad = "blob";

// RFC 7748, section 6.1.
TEST(X25519, Rfc7748Vectors) {
  auto alice = x25519_from_seed(key_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  auto bob = x25519_from_seed(key_hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  EXPECT_EQ(key_hex_string(alice.public_key), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(key_hex_string(bob.public_key), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto ab = x25519_shared(alice.private_key, bob.public_key);
  auto ba = x25519_shared(bob.private_key, alice.public_key);
  ASSERT_TRUE(ab.is_ok() && ba.is_ok());
  EXPECT_EQ(key_hex_string(*ab), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(key_hex_string(*ab), key_hex_string(*ba));
}

TEST(X25519, LowOrderPeerKeyIsRefused) {
  auto me = random_pair();
  Key256 zero{};
  auto s = x25519_shared(me.private_key, zero);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kCorrupt);
}

TEST(SealedBox, RoundTripAndFreshEphemeralKeys) {
  auto recipient = random_pair();
  Bytes a, b;
  seal_box(recipient.public_key, as_bytes(kSealedPlain), as_bytes(kSealedAad), a);
  seal_box(recipient.public_key, as_bytes(kSealedPlain), as_bytes(kSealedAad), b);
  EXPECT_EQ(a.size(), kSealedPlain.size() + kBoxOverhead);
  EXPECT_NE(a, b) << "a new ephemeral key and nonce per box";
  EXPECT_FALSE(std::equal(a.begin(), a.begin() + 32, b.begin()));
  Bytes out;
  ASSERT_TRUE(open_box(recipient, a, as_bytes(kSealedAad), out).is_ok());
  EXPECT_EQ(as_string_view(out), kSealedPlain);
  Bytes empty;
  seal_box(recipient.public_key, {}, as_bytes(kSealedAad), empty);
  out.clear();
  EXPECT_TRUE(open_box(recipient, empty, as_bytes(kSealedAad), out).is_ok());
  EXPECT_TRUE(out.empty());
}

TEST(BoxSealer, SharesAnEphemeralKeyUntilRenewalAndInPlaceHasTheSameLayout) {
  auto recipient = random_pair();
  BoxSealer sealer(recipient.public_key, 3);
  std::vector<Bytes> boxes(7);
  for (size_t i = 0; i < boxes.size(); ++i) {
    if (i % 2 == 0) {
      sealer.seal(as_bytes(kSealedPlain), as_bytes(kSealedAad), boxes[i]);
      continue;
    }
    Bytes& buf = boxes[i];
    buf = to_bytes("prefix");
    buf.resize(6 + kBoxHeader);
    append(buf, as_bytes(kSealedPlain));
    sealer.seal_in_place(buf, 6, as_bytes(kSealedAad));
    EXPECT_EQ(as_string_view(ByteSpan(buf).first(6)), "prefix");
    buf.erase(buf.begin(), buf.begin() + 6);
  }
  auto ephemeral = [&](size_t i) { return Bytes(boxes[i].begin(), boxes[i].begin() + 32); };
  EXPECT_EQ(ephemeral(0), ephemeral(2));
  EXPECT_NE(ephemeral(2), ephemeral(3)) << "renewed after 3 boxes";
  EXPECT_EQ(ephemeral(3), ephemeral(5));
  EXPECT_NE(ephemeral(5), ephemeral(6));
  EXPECT_NE(Bytes(boxes[0].begin() + 32, boxes[0].begin() + 44), Bytes(boxes[1].begin() + 32, boxes[1].begin() + 44))
      << "a nonce per box";
  BoxOpener opener;
  auto other = random_pair();
  for (const auto& b : boxes) {
    EXPECT_EQ(b.size(), kSealedPlain.size() + kBoxOverhead);
    Bytes out, again;
    ASSERT_TRUE(open_box(recipient, b, as_bytes(kSealedAad), out).is_ok());
    EXPECT_EQ(as_string_view(out), kSealedPlain);
    ASSERT_TRUE(opener.open(recipient, b, as_bytes(kSealedAad), again).is_ok());
    EXPECT_EQ(again, out);
    // The cached key is the recipient's: another recipient does not open it.
    EXPECT_FALSE(opener.open(other, b, as_bytes(kSealedAad), again).is_ok());
    Bytes bad = b;
    bad.back() ^= 1;
    EXPECT_FALSE(opener.open(recipient, bad, as_bytes(kSealedAad), again).is_ok());
  }
}

TEST(SealedBox, OnlyTheRecipientOpensIt) {
  auto recipient = random_pair();
  auto other = random_pair();
  Bytes box;
  seal_box(recipient.public_key, as_bytes(kSealedPlain), as_bytes(kSealedAad), box);
  Bytes out;
  Status s = open_box(other, box, as_bytes(kSealedAad), out);
  EXPECT_EQ(s.code(), ErrorCode::kCorrupt);
  EXPECT_TRUE(out.empty());
  // The recipient's public key alone (what a write-only host holds) is no key.
  X25519KeyPair public_only{recipient.public_key, recipient.public_key};
  EXPECT_FALSE(open_box(public_only, box, as_bytes(kSealedAad), out).is_ok());
}

TEST(SealedBox, EveryByteAndTheAadAreAuthenticated) {
  auto recipient = random_pair();
  Bytes box;
  seal_box(recipient.public_key, as_bytes(kSealedPlain), as_bytes(kSealedAad), box);
  for (size_t i = 0; i < box.size(); ++i) {
    Bytes bad = box;
    bad[i] ^= 0x01;
    Bytes out;
    EXPECT_FALSE(open_box(recipient, bad, as_bytes(kSealedAad), out).is_ok()) << "byte " << i;
    EXPECT_TRUE(out.empty());
  }
  Bytes out;
  EXPECT_FALSE(open_box(recipient, box, as_bytes("other"), out).is_ok());
  EXPECT_FALSE(open_box(recipient, ByteSpan(box).subspan(0, kBoxOverhead - 1), as_bytes(kSealedAad), out).is_ok());
}

}  // namespace
}  // namespace lifeboat::crypto
