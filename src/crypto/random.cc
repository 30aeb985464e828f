#include "crypto/random.h"

#include <cstdlib>

#include <openssl/rand.h>

namespace lifeboat::crypto {

void random_fill(MutableByteSpan out) {
  if (out.empty()) return;
  // RAND_bytes fails only when the DRBG cannot be seeded; continuing would
  // reuse nonces, so this is treated as a bug-level failure.
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
}

Bytes random_bytes(size_t n) {
  Bytes out(n);
  random_fill(out);
  return out;
}

}  // namespace lifeboat::crypto
