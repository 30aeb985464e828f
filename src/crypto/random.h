// Cryptographically secure random bytes (OpenSSL's DRBG). Thread-safe.
#pragma once

#include "util/bytes.h"

namespace lifeboat::crypto {

void random_fill(MutableByteSpan out);
Bytes random_bytes(size_t n);

}  // namespace lifeboat::crypto
