#include "crypto/random.h"

#include <gtest/gtest.h>

namespace lifeboat::crypto {
namespace {

TEST(Random, FillsDistinctBytes) {
  Bytes a = random_bytes(32), b = random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(random_bytes(0).empty());
}

}  // namespace
}  // namespace lifeboat::crypto
