// Keyed hashing: HMAC-SHA-256 (blob ids) and plain SHA-256.
//
// Blob ids are HMAC-SHA-256(id_key, plaintext), so the repository does not
// reveal whether it holds a known file. Thread-safe.
#pragma once

#include <array>

#include "crypto/aead.h"
#include "util/bytes.h"

namespace lifeboat::crypto {

using Digest256 = std::array<uint8_t, 32>;

class KeyedHash {
 public:
  explicit KeyedHash(const Key256& key);
  ~KeyedHash();
  KeyedHash(const KeyedHash&) = delete;
  KeyedHash& operator=(const KeyedHash&) = delete;

  Digest256 hash(ByteSpan data) const;

 private:
  Key256 key_;
  void* template_ctx_;  // EVP_MAC_CTX* keyed once, duplicated per call
};

Digest256 sha256(ByteSpan data);
Digest256 hmac_sha256(ByteSpan key, ByteSpan data);
// MD5, for the Content-MD5 header object stores check uploads against (and
// S3 Object Lock requires); never for anything that must resist forgery.
std::array<uint8_t, 16> md5(ByteSpan data);

}  // namespace lifeboat::crypto
