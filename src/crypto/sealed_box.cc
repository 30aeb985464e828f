#include "crypto/sealed_box.h"

#include <memory>
#include <tuple>
#include <stdexcept>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "crypto/random.h"

namespace lifeboat::crypto {
namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
constexpr std::string_view kInfo = "lifeboat sealed box v1";

PkeyPtr private_key(const Key256& k) {
  return PkeyPtr(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, k.data(), k.size()), EVP_PKEY_free);
}

Key256 hkdf(const Key256& ikm, const Key256& ephemeral_public, const Key256& recipient_public) {
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr), EVP_KDF_free);
  if (!kdf) throw std::runtime_error("OpenSSL has no HKDF");
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf.get()), EVP_KDF_CTX_free);
  uint8_t salt[2 * kX25519KeySize];
  std::copy(ephemeral_public.begin(), ephemeral_public.end(), salt);
  std::copy(recipient_public.begin(), recipient_public.end(), salt + kX25519KeySize);
  char digest[] = "SHA256";
  OSSL_PARAM ps[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, sizeof salt),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(kInfo.data()), kInfo.size()),
      OSSL_PARAM_construct_end(),
  };
  Key256 out;
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), ps) != 1) throw std::runtime_error("HKDF failed");
  return out;
}

}  // namespace

X25519KeyPair x25519_from_seed(const Key256& seed) {
  auto key = private_key(seed);
  if (!key) throw std::runtime_error("X25519 key setup failed");
  X25519KeyPair pair;
  pair.private_key = seed;
  size_t len = pair.public_key.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), pair.public_key.data(), &len) != 1 || len != kX25519KeySize)
    throw std::runtime_error("X25519 public key derivation failed");
  return pair;
}

Result<Key256> x25519_shared(const Key256& priv, const Key256& peer_public) {
  auto key = private_key(priv);
  PkeyPtr peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public.data(), peer_public.size()),
               EVP_PKEY_free);
  if (!key || !peer) return Status(ErrorCode::kInternal, "X25519 key setup failed");
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key.get(), nullptr),
                                                                   EVP_PKEY_CTX_free);
  Key256 out;
  size_t len = out.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1 || len != out.size())
    return Status(ErrorCode::kCorrupt, "X25519 key agreement failed (a low-order public key?)");
  return out;
}

namespace {

// A fresh ephemeral key pair and the box key it agrees with the recipient.
std::pair<Key256, Key256> box_key(const Key256& recipient_public) {
  Key256 seed;
  random_fill(seed);
  X25519KeyPair ephemeral = x25519_from_seed(seed);
  auto shared = x25519_shared(ephemeral.private_key, recipient_public);
  if (!shared.is_ok()) throw std::runtime_error("sealing for an invalid recipient key: " + shared.status().message());
  return {ephemeral.public_key, hkdf(*shared, ephemeral.public_key, recipient_public)};
}

}  // namespace

void seal_box(const Key256& recipient_public, ByteSpan plaintext, ByteSpan aad, Bytes& out) {
  auto [ephemeral_public, key] = box_key(recipient_public);
  out.insert(out.end(), ephemeral_public.begin(), ephemeral_public.end());
  Aead(key).seal(plaintext, aad, out);
}

BoxSealer::BoxSealer(const Key256& recipient_public, uint64_t renew_after)
    : recipient_(recipient_public), renew_after_(renew_after == 0 ? 1 : renew_after) {}

Aead BoxSealer::next() {
  if (uses_++ % renew_after_ == 0) std::tie(ephemeral_public_, key_) = box_key(recipient_);
  return Aead(key_);
}

void BoxSealer::seal(ByteSpan plaintext, ByteSpan aad, Bytes& out) {
  Aead aead = next();
  out.insert(out.end(), ephemeral_public_.begin(), ephemeral_public_.end());
  aead.seal(plaintext, aad, out);
}

void BoxSealer::seal_in_place(Bytes& buf, size_t start, ByteSpan aad) {
  Aead aead = next();
  std::copy(ephemeral_public_.begin(), ephemeral_public_.end(), buf.begin() + static_cast<ptrdiff_t>(start));
  aead.seal_in_place(buf, start + kX25519KeySize, aad);
}

Status BoxOpener::open(const X25519KeyPair& recipient, ByteSpan box, ByteSpan aad, Bytes& out) {
  if (box.size() < kBoxOverhead) return Status(ErrorCode::kCorrupt, "sealed box too short");
  Key256 ephemeral_public;
  std::copy(box.begin(), box.begin() + kX25519KeySize, ephemeral_public.begin());
  if (!valid_ || ephemeral_public != ephemeral_public_ || recipient.public_key != recipient_public_) {
    valid_ = false;
    LB_ASSIGN_OR_RETURN(Key256 shared, x25519_shared(recipient.private_key, ephemeral_public));
    key_ = hkdf(shared, ephemeral_public, recipient.public_key);
    ephemeral_public_ = ephemeral_public;
    recipient_public_ = recipient.public_key;
    valid_ = true;
  }
  return Aead(key_).open(box.subspan(kX25519KeySize), aad, out);
}

Status open_box(const X25519KeyPair& recipient, ByteSpan box, ByteSpan aad, Bytes& out) {
  if (box.size() < kBoxOverhead) return Status(ErrorCode::kCorrupt, "sealed box too short");
  Key256 ephemeral_public;
  std::copy(box.begin(), box.begin() + kX25519KeySize, ephemeral_public.begin());
  LB_ASSIGN_OR_RETURN(Key256 shared, x25519_shared(recipient.private_key, ephemeral_public));
  Key256 key = hkdf(shared, ephemeral_public, recipient.public_key);
  return Aead(key).open(box.subspan(kX25519KeySize), aad, out);
}

}  // namespace lifeboat::crypto
