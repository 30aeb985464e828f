#include "util/encoding.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "unit/test_util.h"

namespace lifeboat {
namespace {

Bytes B(std::initializer_list<uint8_t> v) { return Bytes(v.begin(), v.end()); }

TEST(Hex, Encode) {
  EXPECT_EQ(hex_encode(B({})), "");
  EXPECT_EQ(hex_encode(B({0x00, 0xff, 0x1a, 0xb0})), "00ff1ab0");
}

TEST(Hex, DecodeAcceptsBothCases) {
  auto lower = hex_decode("00ff1ab0");
  auto upper = hex_decode("00FF1AB0");
  ASSERT_TRUE(lower && upper);
  EXPECT_EQ(*lower, B({0x00, 0xff, 0x1a, 0xb0}));
  EXPECT_EQ(*upper, *lower);
  ASSERT_TRUE(hex_decode(""));
  EXPECT_TRUE(hex_decode("")->empty());
}

TEST(Hex, DecodeRejectsOddLengthAndNonHex) {
  EXPECT_FALSE(hex_decode("abc"));
  EXPECT_FALSE(hex_decode("0g"));
  EXPECT_FALSE(hex_decode("zz"));
  EXPECT_FALSE(hex_decode("0 "));
  EXPECT_FALSE(hex_decode("-1"));
  EXPECT_FALSE(hex_decode(std::string("0\0", 2)));
}

TEST(Hex, RoundTripsAllByteValues) {
  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  auto back = hex_decode(hex_encode(all));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, all);
}

// RFC 4648, section 10.
TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (auto [plain, encoded] : cases) {
    EXPECT_EQ(base64_encode(as_bytes(plain)), encoded) << plain;
    auto d = base64_decode(encoded);
    ASSERT_TRUE(d) << encoded;
    EXPECT_EQ(to_string(*d), plain);
  }
}

TEST(Base64, UsesStandardAlphabet) {
  EXPECT_EQ(base64_encode(B({0xfb, 0xff, 0xbf})), "+/+/");
  auto d = base64_decode("+/+/");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, B({0xfb, 0xff, 0xbf}));
}

TEST(Base64, RejectsInvalidInput) {
  EXPECT_FALSE(base64_decode("Zg="));        // length not a multiple of 4
  EXPECT_FALSE(base64_decode("Zg"));         // unpadded
  EXPECT_FALSE(base64_decode("Zm9v!A=="));   // character outside the alphabet
  EXPECT_FALSE(base64_decode("Zm9-"));       // URL-safe alphabet is not accepted
  EXPECT_FALSE(base64_decode("Zg=a"));       // data after padding
  EXPECT_FALSE(base64_decode("Z==="));       // too much padding
  EXPECT_FALSE(base64_decode("===="));
  EXPECT_FALSE(base64_decode("Zg==Zm8="));   // padding in the middle
  EXPECT_FALSE(base64_decode("Zm9v\n"));
  EXPECT_FALSE(base64_decode("Zm 9"));
}

TEST(Base64, RoundTripsRandomData) {
  uint64_t seed = testing::test_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 200; ++i) {
    Bytes data(rng() % 100);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    std::string e = base64_encode(data);
    EXPECT_EQ(e.size() % 4, 0u);
    auto d = base64_decode(e);
    ASSERT_TRUE(d) << e;
    EXPECT_EQ(*d, data);
  }
}

Bytes varint_bytes(uint64_t v) {
  Bytes out;
  put_varint(out, v);
  return out;
}

TEST(Varint, EncodesLeb128) {
  EXPECT_EQ(varint_bytes(0), B({0x00}));
  EXPECT_EQ(varint_bytes(1), B({0x01}));
  EXPECT_EQ(varint_bytes(127), B({0x7f}));
  EXPECT_EQ(varint_bytes(128), B({0x80, 0x01}));
  EXPECT_EQ(varint_bytes(300), B({0xac, 0x02}));
  EXPECT_EQ(varint_bytes(16384), B({0x80, 0x80, 0x01}));
  EXPECT_EQ(varint_bytes(std::numeric_limits<uint64_t>::max()),
            B({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST(Varint, RoundTrip) {
  const uint64_t values[] = {0,          1,          127,        128,         255,          16383, 16384,
                             1ull << 31, 1ull << 32, 1ull << 56, 1ull << 63, (1ull << 63) - 1,
                             std::numeric_limits<uint64_t>::max() - 1, std::numeric_limits<uint64_t>::max()};
  Bytes all;
  for (uint64_t v : values) {
    Bytes b = varint_bytes(v);
    ByteReader r(b);
    uint64_t got = 12345;
    ASSERT_TRUE(r.varint(got)) << v;
    EXPECT_EQ(got, v);
    EXPECT_TRUE(r.done()) << v;
    append(all, b);
  }
  ByteReader r(all);
  for (uint64_t v : values) {
    uint64_t got;
    ASSERT_TRUE(r.varint(got));
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(r.done());
}

TEST(Varint, RejectsTruncatedInput) {
  for (uint64_t v : {uint64_t{128}, uint64_t{1} << 40, std::numeric_limits<uint64_t>::max()}) {
    Bytes b = varint_bytes(v);
    for (size_t n = 0; n < b.size(); ++n) {
      ByteReader r(ByteSpan(b.data(), n));
      uint64_t got;
      EXPECT_FALSE(r.varint(got)) << "value " << v << " cut to " << n << " bytes";
    }
  }
}

TEST(Varint, RejectsOverflowingInput) {
  // Ten bytes whose last one carries more than the 64th bit.
  Bytes over = B({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02});
  uint64_t got;
  EXPECT_FALSE(ByteReader(over).varint(got));
  // Eleven bytes: longer than any 64-bit value.
  Bytes longer = B({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
  EXPECT_FALSE(ByteReader(longer).varint(got));
}

TEST(Zigzag, MapsSmallMagnitudesToSmallValues) {
  EXPECT_EQ(zigzag_encode(0), 0u);
  EXPECT_EQ(zigzag_encode(-1), 1u);
  EXPECT_EQ(zigzag_encode(1), 2u);
  EXPECT_EQ(zigzag_encode(-2), 3u);
  EXPECT_EQ(zigzag_encode(std::numeric_limits<int64_t>::max()), std::numeric_limits<uint64_t>::max() - 1);
  EXPECT_EQ(zigzag_encode(std::numeric_limits<int64_t>::min()), std::numeric_limits<uint64_t>::max());
}

TEST(Zigzag, RoundTrip) {
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{63}, int64_t{-64}, int64_t{1705329000123456789},
                    int64_t{-1705329000123456789}, std::numeric_limits<int64_t>::max(),
                    std::numeric_limits<int64_t>::min()})
    EXPECT_EQ(zigzag_decode(zigzag_encode(v)), v) << v;
}

TEST(Fixed, LittleEndianLayout) {
  Bytes b;
  put_fixed32(b, 0x04030201u);
  put_fixed64(b, 0x0c0b0a0908070605ull);
  EXPECT_EQ(b, B({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  EXPECT_EQ(get_fixed32(b.data()), 0x04030201u);
  EXPECT_EQ(get_fixed64(b.data() + 4), 0x0c0b0a0908070605ull);
  ByteReader r(b);
  uint32_t a;
  uint64_t c;
  ASSERT_TRUE(r.fixed32(a));
  ASSERT_TRUE(r.fixed64(c));
  EXPECT_EQ(a, 0x04030201u);
  EXPECT_EQ(c, 0x0c0b0a0908070605ull);
  EXPECT_TRUE(r.done());
}

TEST(ByteReader, StopsAtTheEnd) {
  Bytes b = B({1, 2, 3});
  ByteReader r(b);
  ByteSpan s;
  ASSERT_TRUE(r.bytes(2, s));
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0], 1);
  EXPECT_EQ(r.position(), 2u);
  EXPECT_EQ(r.remaining(), 1u);
  uint8_t u;
  ASSERT_TRUE(r.u8(u));
  EXPECT_EQ(u, 3);
  EXPECT_TRUE(r.done());
  ASSERT_TRUE(r.bytes(0, s));  // an empty read at the end is fine
  EXPECT_TRUE(s.empty());
  EXPECT_FALSE(r.failed());
  EXPECT_FALSE(r.u8(u));
  EXPECT_TRUE(r.failed());
}

TEST(ByteReader, ShortFixedReadsFail) {
  Bytes b = B({1, 2, 3});
  uint32_t v32;
  uint64_t v64;
  ByteSpan s;
  EXPECT_FALSE(ByteReader(b).fixed32(v32));
  EXPECT_FALSE(ByteReader(b).fixed64(v64));
  EXPECT_FALSE(ByteReader(b).bytes(4, s));
}

TEST(ByteReader, LengthPrefixed) {
  Bytes b;
  put_varint(b, 3);
  append(b, "abc");
  put_varint(b, 0);
  ByteReader r(b);
  ByteSpan s;
  ASSERT_TRUE(r.length_prefixed(s));
  EXPECT_EQ(as_string_view(s), "abc");
  ASSERT_TRUE(r.length_prefixed(s));
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(r.done());
}

TEST(ByteReader, LengthPrefixedRejectsLengthPastTheEnd) {
  Bytes b;
  put_varint(b, 5);
  append(b, "abcd");
  ByteSpan s;
  EXPECT_FALSE(ByteReader(b).length_prefixed(s));
  // A length near 2^64 must not wrap around the bounds check.
  Bytes huge;
  put_varint(huge, std::numeric_limits<uint64_t>::max());
  append(huge, "abcd");
  EXPECT_FALSE(ByteReader(huge).length_prefixed(s));
}

// encoding.h: "Every getter returns false on truncated or malformed input
// and leaves the reader in a failed state."
TEST(ByteReader, FailedReadLeavesReaderFailed) {
  Bytes b;
  put_varint(b, 5);     // claims 5 bytes
  append(b, "ab");      // only 2 follow
  ByteReader r(b);
  ByteSpan s;
  ASSERT_FALSE(r.length_prefixed(s));
  uint8_t u;
  EXPECT_FALSE(r.u8(u)) << "a read after a failed one succeeded";
  EXPECT_FALSE(r.bytes(1, s));
}

}  // namespace
}  // namespace lifeboat
