#include "crypto/keyed_hash.h"

#include <cstdlib>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace lifeboat::crypto {
namespace {

EVP_MAC* hmac() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!mac) std::abort();
  return mac;
}

EVP_MAC_CTX* new_hmac_ctx(ByteSpan key) {
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac());
  char digest[] = "SHA256";
  OSSL_PARAM ps[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  if (!ctx || EVP_MAC_init(ctx, key.data(), key.size(), ps) != 1) std::abort();
  return ctx;
}

Digest256 finish(EVP_MAC_CTX* ctx, ByteSpan data) {
  Digest256 out;
  size_t len = 0;
  if (EVP_MAC_update(ctx, data.data(), data.size()) != 1 || EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1)
    std::abort();
  return out;
}

}  // namespace

KeyedHash::KeyedHash(const Key256& key) : key_(key), template_ctx_(new_hmac_ctx(key)) {}

KeyedHash::~KeyedHash() { EVP_MAC_CTX_free(static_cast<EVP_MAC_CTX*>(template_ctx_)); }

Digest256 KeyedHash::hash(ByteSpan data) const {
  // Duplicating a keyed context copies the HMAC inner/outer states and saves
  // re-keying; dup only reads the template, so concurrent calls are safe.
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(static_cast<EVP_MAC_CTX*>(template_ctx_));
  if (!ctx) std::abort();
  Digest256 out = finish(ctx, data);
  EVP_MAC_CTX_free(ctx);
  return out;
}

Digest256 sha256(ByteSpan data) {
  Digest256 out;
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1) std::abort();
  return out;
}

std::array<uint8_t, 16> md5(ByteSpan data) {
  std::array<uint8_t, 16> out;
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_md5(), nullptr) != 1) std::abort();
  return out;
}

Digest256 hmac_sha256(ByteSpan key, ByteSpan data) {
  EVP_MAC_CTX* ctx = new_hmac_ctx(key);
  Digest256 out = finish(ctx, data);
  EVP_MAC_CTX_free(ctx);
  return out;
}

}  // namespace lifeboat::crypto
