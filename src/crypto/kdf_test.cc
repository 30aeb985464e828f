#include "crypto/kdf.h"

#include <gtest/gtest.h>

#include "util/encoding.h"

namespace lifeboat::crypto {
namespace {

std::string derive_hex(std::string_view password, std::string_view salt, ScryptParams p, size_t n) {
  Bytes out(n);
  Status s = scrypt(password, as_bytes(salt), p, out);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return hex_encode(out);
}

TEST(Scrypt, DefaultsAreTheDesignMinimum) {
  ScryptParams p;
  EXPECT_EQ(p.n, uint64_t{1} << 16);
  EXPECT_EQ(p.r, 8u);
  EXPECT_EQ(p.p, 1u);
}

// RFC 7914, section 12, first and second test vectors.
TEST(Scrypt, Rfc7914Vectors) {
  EXPECT_EQ(derive_hex("", "", {16, 1, 1}, 64),
            "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
            "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
  EXPECT_EQ(derive_hex("password", "NaCl", {1024, 8, 16}, 64),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

// N = 2^10, r = 8, p = 1: pinned (Python hashlib.scrypt gives the same).
TEST(Scrypt, SmallParamsAreDeterministic) {
  const std::string expected = "250ee63d5cfb2fc1535a52639b0afde95c341e6597ed1e128b7e550eb976c0ac";
  EXPECT_EQ(derive_hex("correct horse", "lifeboat salt", {1024, 8, 1}, 32), expected);
  EXPECT_EQ(derive_hex("correct horse", "lifeboat salt", {1024, 8, 1}, 32), expected);
  EXPECT_NE(derive_hex("correct horsf", "lifeboat salt", {1024, 8, 1}, 32), expected);
  EXPECT_NE(derive_hex("correct horse", "lifeboat salu", {1024, 8, 1}, 32), expected);
  EXPECT_NE(derive_hex("correct horse", "lifeboat salt", {2048, 8, 1}, 32), expected);
}

TEST(Scrypt, RejectsInvalidParameters) {
  Bytes out(32);
  for (ScryptParams p : {ScryptParams{1000, 8, 1}, ScryptParams{1, 8, 1}, ScryptParams{0, 8, 1},
                         ScryptParams{1024, 0, 1}, ScryptParams{1024, 8, 0}}) {
    Status s = scrypt("pw", as_bytes("salt"), p, out);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << "n=" << p.n << " r=" << p.r << " p=" << p.p;
    EXPECT_EQ(s.message(), "scrypt rejected its parameters");
  }
}

}  // namespace
}  // namespace lifeboat::crypto
