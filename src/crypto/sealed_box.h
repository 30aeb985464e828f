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
// Appends the plaintext to `out` if `box` opens with `recipient`'s private key.
Status open_box(const X25519KeyPair& recipient, ByteSpan box, ByteSpan aad, Bytes& out);

}  // namespace lifeboat::crypto
