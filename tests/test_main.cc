#include <gtest/gtest.h>

#include "crypto/openssl_memory.h"

int main(int argc, char** argv) {
  // As the CLI does: scrypt's buffer in huge pages (a test that opens a
  // repository spends 0.2 s less on page faults).
  lifeboat::crypto::install_openssl_allocator();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
