#include "compress/zstd.h"

#include <string>

#include <gtest/gtest.h>

#include "unit/test_util.h"

namespace lifeboat::compress {
namespace {

Bytes compressible(size_t n) {
  Bytes b;
  while (b.size() < n) append(b, "the quick brown fox jumps over the lazy dog; ");
  b.resize(n);
  return b;
}

TEST(Zstd, PrefixCompressesWhatItSharesAndIsNeededToDecompress) {
  Bytes base = lifeboat::testing::splitmix_bytes(7, 64 << 10);
  Bytes next = base;
  for (size_t i = 0; i < next.size(); i += 8192) next[i] ^= 1;
  Bytes out(zstd_compress_bound(next.size()));
  size_t n = zstd_compress_with_prefix(next, base, kDefaultLevel, out);
  EXPECT_LT(n, 1024u) << "eight changed bytes in 64 KiB of random data";
  out.resize(n);
  Bytes back;
  ASSERT_TRUE(zstd_decompress_with_prefix(out, base, next.size(), back).is_ok());
  EXPECT_EQ(back, next);
  Bytes other = lifeboat::testing::splitmix_bytes(8, 64 << 10);
  Bytes wrong;
  Status s = zstd_decompress_with_prefix(out, other, next.size(), wrong);
  EXPECT_TRUE(!s.is_ok() || wrong != next) << "another prefix must not give the same data";
  // The thread's context is clean again for plain compression.
  Bytes plain = compressible(4096), packed, again;
  zstd_compress(plain, kDefaultLevel, packed);
  ASSERT_TRUE(zstd_decompress(packed, plain.size(), again).is_ok());
  EXPECT_EQ(again, plain);
}

TEST(Zstd, RoundTrip) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{1} << 20}) {
    Bytes in = compressible(n);
    Bytes c;
    size_t len = zstd_compress(in, kDefaultLevel, c);
    EXPECT_EQ(len, c.size());
    if (n >= 1000) {
      EXPECT_LT(c.size(), n / 4) << n;
    }
    Bytes out;
    ASSERT_TRUE(zstd_decompress(c, n, out).is_ok()) << n;
    EXPECT_TRUE(out == in) << n;
  }
}

TEST(Zstd, RoundTripIncompressibleData) {
  Bytes in = testing::splitmix_bytes(1, 100000);
  Bytes c;
  zstd_compress(in, kDefaultLevel, c);
  EXPECT_LE(c.size(), zstd_compress_bound(in.size()));
  Bytes out;
  ASSERT_TRUE(zstd_decompress(c, in.size(), out).is_ok());
  EXPECT_TRUE(out == in);
}

TEST(Zstd, CompressAndDecompressAppend) {
  Bytes in = compressible(5000);
  Bytes c = to_bytes("hdr");
  size_t len = zstd_compress(in, 1, c);
  EXPECT_EQ(c.size(), 3 + len);
  Bytes out = to_bytes("pre");
  ASSERT_TRUE(zstd_decompress(ByteSpan(c).subspan(3), in.size(), out).is_ok());
  ASSERT_EQ(out.size(), 3 + in.size());
  EXPECT_EQ(as_string_view(ByteSpan(out).first(3)), "pre");
  EXPECT_TRUE(Bytes(out.begin() + 3, out.end()) == in);
}

TEST(Zstd, CompressIntoMatchesCompress) {
  Bytes in = compressible(70000);
  Bytes expected;
  zstd_compress(in, kDefaultLevel, expected);
  Bytes buf(zstd_compress_bound(in.size()) + 10, 0xee);
  size_t n = zstd_compress_into(in, kDefaultLevel, MutableByteSpan(buf.data() + 5, zstd_compress_bound(in.size())));
  ASSERT_EQ(n, expected.size());
  EXPECT_TRUE(Bytes(buf.begin() + 5, buf.begin() + 5 + static_cast<ptrdiff_t>(n)) == expected);
  EXPECT_EQ(buf[4], 0xee);  // nothing written before the span
  Bytes out;
  ASSERT_TRUE(zstd_decompress(ByteSpan(buf.data() + 5, n), in.size(), out).is_ok());
  EXPECT_TRUE(out == in);
}

TEST(Zstd, WrongRawSizeIsCorrupt) {
  Bytes in = compressible(1000);
  Bytes c;
  zstd_compress(in, kDefaultLevel, c);
  Bytes out = to_bytes("keep");
  Status smaller = zstd_decompress(c, 999, out);
  EXPECT_EQ(smaller.code(), ErrorCode::kCorrupt);
  EXPECT_EQ(as_string_view(out), "keep");
  Status larger = zstd_decompress(c, 1001, out);
  EXPECT_EQ(larger.code(), ErrorCode::kCorrupt);
  EXPECT_EQ(larger.message(), "zstd: decompressed to 1000 bytes, expected 1001");
  EXPECT_EQ(as_string_view(out), "keep");
}

TEST(Zstd, GarbageIsCorrupt) {
  Bytes out;
  Status s = zstd_decompress(as_bytes("this is not a zstd frame"), 10, out);
  EXPECT_EQ(s.code(), ErrorCode::kCorrupt);
  EXPECT_TRUE(s.message().starts_with("zstd: ")) << s.message();
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(zstd_decompress({}, 10, out).code(), ErrorCode::kCorrupt);
}

TEST(Zstd, TruncatedFrameIsCorrupt) {
  Bytes in = compressible(4000);
  Bytes c;
  zstd_compress(in, kDefaultLevel, c);
  for (size_t n = 0; n < c.size(); ++n) {
    Bytes out;
    EXPECT_EQ(zstd_decompress(ByteSpan(c).first(n), in.size(), out).code(), ErrorCode::kCorrupt) << n;
    EXPECT_TRUE(out.empty());
  }
}

}  // namespace
}  // namespace lifeboat::compress
