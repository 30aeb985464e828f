#include "crypto/aead.h"

#include <cstdlib>
#include <memory>

#include <openssl/evp.h>

#include "crypto/random.h"

namespace lifeboat::crypto {
namespace {

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

// One cipher context per thread, re-initialised per call: saves an
// allocation per blob on the hot path.
EVP_CIPHER_CTX* thread_ctx() {
  thread_local CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) std::abort();
  return ctx.get();
}

[[noreturn]] void openssl_bug() { std::abort(); }

}  // namespace

void Aead::seal(ByteSpan plaintext, ByteSpan aad, Bytes& out) const {
  uint8_t nonce[kNonceSize];
  random_fill(nonce);
  seal_with_nonce(plaintext, aad, nonce, out);
}

void Aead::encrypt(const uint8_t* in, uint8_t* out, size_t n, const uint8_t* nonce, ByteSpan aad,
                   uint8_t* tag) const {
  EVP_CIPHER_CTX* ctx = thread_ctx();
  int len = 0;
  if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1) openssl_bug();
  if (!aad.empty() && EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1)
    openssl_bug();
  // EVP_EncryptUpdate takes an int length; feed large inputs in pieces.
  size_t done = 0;
  while (done < n) {
    size_t step = std::min<size_t>(n - done, 1 << 30);
    if (EVP_EncryptUpdate(ctx, out + done, &len, in + done, static_cast<int>(step)) != 1) openssl_bug();
    done += step;
  }
  if (EVP_EncryptFinal_ex(ctx, out + done, &len) != 1) openssl_bug();
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, tag) != 1) openssl_bug();
}

void Aead::seal_with_nonce(ByteSpan plaintext, ByteSpan aad, ByteSpan nonce, Bytes& out) const {
  size_t start = out.size();
  out.resize(start + kNonceSize + plaintext.size() + kTagSize);
  uint8_t* p = out.data() + start;
  std::copy(nonce.begin(), nonce.end(), p);
  encrypt(plaintext.data(), p + kNonceSize, plaintext.size(), p, aad, p + kNonceSize + plaintext.size());
}

void Aead::seal_in_place(Bytes& buf, size_t start, ByteSpan aad) const {
  size_t n = buf.size() - start - kNonceSize;
  buf.resize(buf.size() + kTagSize);
  uint8_t* p = buf.data() + start;
  random_fill(MutableByteSpan(p, kNonceSize));
  encrypt(p + kNonceSize, p + kNonceSize, n, p, aad, p + kNonceSize + n);
}

Status Aead::open(ByteSpan sealed, ByteSpan aad, Bytes& out) const {
  if (sealed.size() < kAeadOverhead) return Status(ErrorCode::kCorrupt, "sealed data too short");
  EVP_CIPHER_CTX* ctx = thread_ctx();
  const uint8_t* nonce = sealed.data();
  size_t ct_len = sealed.size() - kAeadOverhead;
  const uint8_t* ct = sealed.data() + kNonceSize;
  uint8_t tag[kTagSize];
  std::copy(ct + ct_len, ct + ct_len + kTagSize, tag);
  size_t start = out.size();
  out.resize(start + ct_len);
  int len = 0;
  if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1) openssl_bug();
  if (!aad.empty() && EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1)
    openssl_bug();
  size_t done = 0;
  while (done < ct_len) {
    size_t n = std::min<size_t>(ct_len - done, 1 << 30);
    if (EVP_DecryptUpdate(ctx, out.data() + start + done, &len, ct + done, static_cast<int>(n)) != 1)
      openssl_bug();
    done += n;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, tag) != 1) openssl_bug();
  if (EVP_DecryptFinal_ex(ctx, out.data() + start + done, &len) != 1) {
    out.resize(start);  // never hand out unauthenticated plaintext
    return Status(ErrorCode::kCorrupt, "authentication failed (data was modified or the key is wrong)");
  }
  return Status::ok();
}

}  // namespace lifeboat::crypto
