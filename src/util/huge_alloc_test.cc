#include "util/huge_alloc.h"

#include <cstdint>
#include <cstring>

#include <gtest/gtest.h>

#include "util/bytes.h"

namespace lifeboat {
namespace {

TEST(HugeAlloc, TwoMiBAlignedAndUsableToTheLastByte) {
  for (size_t n : {kHugeAllocMin, kHugeAllocMin + 1, size_t{25} << 20}) {
    auto* p = static_cast<uint8_t*>(huge_alloc(n));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kHugeAllocMin, 0u) << n;
    std::memset(p, 0xa5, n);
    EXPECT_EQ(p[0], 0xa5);
    EXPECT_EQ(p[n - 1], 0xa5);
    huge_free(p, n);
  }
}

TEST(HugeAlloc, LargeBytesLieInHugeAllocations) {
  Bytes b;
  b.resize(3 << 20);
  std::memset(b.data(), 1, b.size());
#ifndef __SANITIZE_ADDRESS__
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % kHugeAllocMin, 0u);
#endif
  // Growing across the threshold and back keeps the contents.
  Bytes small(100, 7);
  small.resize(5 << 20, 9);
  EXPECT_EQ(small[99], 7);
  EXPECT_EQ(small[100], 9);
  small.resize(10);
  small.shrink_to_fit();
  EXPECT_EQ(small, Bytes(10, 7));
}

TEST(BytesCopies, AppendAndToBytesCopyExactly) {
  Bytes out = to_bytes("abc");
  Bytes big(3 << 20);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
  append(out, big);
  append(out, ByteSpan());
  ASSERT_EQ(out.size(), 3 + big.size());
  EXPECT_EQ(as_string_view(ByteSpan(out).first(3)), "abc");
  EXPECT_TRUE(std::equal(big.begin(), big.end(), out.begin() + 3));
  EXPECT_EQ(to_bytes(ByteSpan(big).subspan(5, 4)), Bytes(big.begin() + 5, big.begin() + 9));
}

}  // namespace
}  // namespace lifeboat
