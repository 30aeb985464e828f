// AES-256-GCM with a 96-bit random nonce and a 128-bit tag.
//
//   sealed := nonce[12] ciphertext tag[16]
//
// open() authenticates before it returns any plaintext: a flipped bit
// anywhere in `sealed` or in `aad` fails with ErrorCode::kCorrupt.
// Aead objects are immutable after construction and safe to share between
// threads.
#pragma once

#include <array>
#include <cstdint>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::crypto {

inline constexpr size_t kKeySize = 32;
inline constexpr size_t kNonceSize = 12;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kAeadOverhead = kNonceSize + kTagSize;

using Key256 = std::array<uint8_t, kKeySize>;

class Aead {
 public:
  explicit Aead(const Key256& key) : key_(key) {}

  // Appends nonce || ciphertext || tag to `out`.
  void seal(ByteSpan plaintext, ByteSpan aad, Bytes& out) const;
  // Same, with a caller-chosen nonce (golden tests only: never reuse a nonce).
  void seal_with_nonce(ByteSpan plaintext, ByteSpan aad, ByteSpan nonce, Bytes& out) const;
  // Seals in place: `buf` holds kNonceSize reserved bytes at `start`,
  // followed by the plaintext up to buf.end(). Writes a random nonce there,
  // encrypts the plaintext where it lies and appends the tag, so the result
  // is the same layout as seal() without copying the plaintext.
  void seal_in_place(Bytes& buf, size_t start, ByteSpan aad) const;
  // Appends the plaintext to `out` if `sealed` authenticates under `aad`.
  Status open(ByteSpan sealed, ByteSpan aad, Bytes& out) const;

 private:
  // in == out is allowed (EVP encrypts in place).
  void encrypt(const uint8_t* in, uint8_t* out, size_t n, const uint8_t* nonce, ByteSpan aad, uint8_t* tag) const;
  Key256 key_;
};

}  // namespace lifeboat::crypto
