// Password-based key derivation: scrypt (memory-hard), via OpenSSL's EVP_KDF.
#pragma once

#include <cstdint>
#include <string_view>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::crypto {

struct ScryptParams {
  uint64_t n = uint64_t{1} << 16;  // DESIGN.md: never below 2^16 (Kopia's default)
  uint32_t r = 8;
  uint32_t p = 1;
};

// Derives `out.size()` bytes. Costs ~0.2 s and 64 MiB at the defaults.
// Fails with kInvalidArgument for parameters OpenSSL rejects.
Status scrypt(std::string_view password, ByteSpan salt, const ScryptParams& params, MutableByteSpan out);

}  // namespace lifeboat::crypto
