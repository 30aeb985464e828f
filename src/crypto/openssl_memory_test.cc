#include "crypto/openssl_memory.h"

#include <cstdint>
#include <cstring>

#include <gtest/gtest.h>
#include <openssl/crypto.h>

#include "crypto/kdf.h"
#include "util/huge_alloc.h"

namespace lifeboat::crypto {
namespace {

// Installed before main(), as the CLI does first thing in it, so that every
// test of this binary runs OpenSSL on this allocator.
const bool installed = install_openssl_allocator();

bool in_huge_block(const void* p) {
  // A huge block's header sits at the start of its 2 MiB aligned mapping.
  return (reinterpret_cast<uintptr_t>(p) - 16) % kHugeAllocMin == 0;
}

TEST(OpensslMemory, InstalledBeforeOpensslsFirstAllocation) { EXPECT_TRUE(installed); }

TEST(OpensslMemory, LargeBlocksLieInHugePagesAndSmallOnesInTheHeap) {
  ASSERT_TRUE(installed);
  auto* big = static_cast<uint8_t*>(OPENSSL_malloc(size_t{3} << 20));
  ASSERT_NE(big, nullptr);
  EXPECT_TRUE(in_huge_block(big));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big) % 16, 0u);
  std::memset(big, 0x5a, size_t{3} << 20);
  OPENSSL_free(big);

  auto* small = static_cast<uint8_t*>(OPENSSL_malloc(100));
  ASSERT_NE(small, nullptr);
  EXPECT_FALSE(in_huge_block(small));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small) % 16, 0u);
  OPENSSL_free(small);
  OPENSSL_free(nullptr);
}

TEST(OpensslMemory, ReallocKeepsTheContentsAcrossTheThreshold) {
  ASSERT_TRUE(installed);
  auto* p = static_cast<uint8_t*>(OPENSSL_malloc(1000));
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 1000; ++i) p[i] = static_cast<uint8_t>(i * 7);
  p = static_cast<uint8_t*>(OPENSSL_realloc(p, 2000));  // heap to heap
  ASSERT_NE(p, nullptr);
  p = static_cast<uint8_t*>(OPENSSL_realloc(p, size_t{5} << 20));  // heap to huge
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(in_huge_block(p));
  p[(size_t{5} << 20) - 1] = 1;
  p = static_cast<uint8_t*>(OPENSSL_realloc(p, size_t{9} << 20));  // huge to huge
  ASSERT_NE(p, nullptr);
  p = static_cast<uint8_t*>(OPENSSL_realloc(p, 500));  // huge to heap
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(in_huge_block(p));
  for (int i = 0; i < 500; ++i) ASSERT_EQ(p[i], static_cast<uint8_t>(i * 7)) << i;
  EXPECT_EQ(OPENSSL_realloc(p, 0), nullptr);  // frees, as OpenSSL's own does
  auto* q = static_cast<uint8_t*>(OPENSSL_realloc(nullptr, 10));  // allocates
  ASSERT_NE(q, nullptr);
  OPENSSL_free(q);
}

TEST(OpensslMemory, ScryptDerivesTheSameKeyOnIt) {
  ASSERT_TRUE(installed);
  // RFC 7914's third test vector (N=16384, r=8, p=1): a 16 MiB working buffer.
  const char salt[] = "SodiumChloride";
  uint8_t out[64];
  ASSERT_TRUE(scrypt("pleaseletmein", ByteSpan(reinterpret_cast<const uint8_t*>(salt), 14), {16384, 8, 1},
                     MutableByteSpan(out, 64))
                  .ok());
  static const uint8_t want[8] = {0x70, 0x23, 0xbd, 0xcb, 0x3a, 0xfd, 0x73, 0x48};
  EXPECT_EQ(std::memcmp(out, want, 8), 0);
}

}  // namespace
}  // namespace lifeboat::crypto
