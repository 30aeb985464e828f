// Sealing for a recipient's X25519 public key, so that the sealer cannot
// open what it sealed (ECIES with X25519, HKDF-SHA-256 and AES-256-GCM).
// The building block of write-only keys: a backup host seals new data for
// the repository's recovery key and keeps nothing that opens it.
//
//   box := ephemeral_public[32] nonce[12] ciphertext tag[16]
//   key  = HKDF-SHA-256(ikm  = X25519(ephemeral_private, recipient_public),
//                       salt = ephemeral_public || recipient_public,
//                       info = "lifeboat sealed box v1")
//
// A fresh ephemeral key pair per box. open_box() authenticates before it
// returns anything: any changed byte of the box or of `aad` fails with
// kCorrupt, as does a box for another recipient.
#pragma once

#include "crypto/aead.h"
#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::crypto {

inline constexpr size_t kX25519KeySize = 32;
inline constexpr size_t kBoxOverhead = kX25519KeySize + kAeadOverhead;

struct X25519KeyPair {
  Key256 private_key;
  Key256 public_key;
};

// The key pair whose private key is `seed` (X25519 clamps it): the same
// seed gives the same pair, so a private key can be derived, not stored.
X25519KeyPair x25519_from_seed(const Key256& seed);
// X25519(private, peer public); kCorrupt for a peer key that yields the
// all-zero secret (a low-order point).
Result<Key256> x25519_shared(const Key256& private_key, const Key256& peer_public);

// Appends a box of `plaintext` for `recipient_public` to `out`.
void seal_box(const Key256& recipient_public, ByteSpan plaintext, ByteSpan aad, Bytes& out);
// Bytes before the plaintext that BoxSealer::seal_in_place() needs.
inline constexpr size_t kBoxHeader = kX25519KeySize + kNonceSize;
// Appends the plaintext to `out` if `box` opens with `recipient`'s private key.
Status open_box(const X25519KeyPair& recipient, ByteSpan box, ByteSpan aad, Bytes& out);

// Seals many boxes for one recipient with one ephemeral key pair, so the key
// agreement runs once per `renew_after` boxes instead of once per box. Each
// box still has its own random nonce under the derived key (GCM with random
// nonces is safe for 2^32 messages per key; renewal comes far earlier), and
// opens with open_box(). Not thread-safe: one per thread.
class BoxSealer {
 public:
  explicit BoxSealer(const Key256& recipient_public, uint64_t renew_after = uint64_t{1} << 20);
  const Key256& recipient() const { return recipient_; }
  void seal(ByteSpan plaintext, ByteSpan aad, Bytes& out);
  // Seals in place: `buf` holds kBoxHeader reserved bytes at `start`, then
  // the plaintext up to its end; the result has the layout of seal_box().
  void seal_in_place(Bytes& buf, size_t start, ByteSpan aad);

 private:
  Aead next();
  Key256 recipient_;
  uint64_t renew_after_;
  uint64_t uses_ = 0;
  Key256 ephemeral_public_{};
  Key256 key_{};
};

// Opens boxes, keeping the key agreed for the last ephemeral public key
// (boxes from one BoxSealer share it). Not thread-safe: one per thread.
class BoxOpener {
 public:
  Status open(const X25519KeyPair& recipient, ByteSpan box, ByteSpan aad, Bytes& out);

 private:
  bool valid_ = false;
  Key256 recipient_public_{};
  Key256 ephemeral_public_{};
  Key256 key_{};
};

}  // namespace lifeboat::crypto
