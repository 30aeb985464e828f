#include "repo/id.h"

#include <set>

#include <gtest/gtest.h>

namespace lifeboat::repo {
namespace {

TEST(Id, HexRoundTrip) {
  const std::string hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  auto id = Id::from_hex(hex);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->hex(), hex);
  EXPECT_EQ(id->short_hex(), "00112233");
  EXPECT_EQ(id->bytes[1], 0x11);
  auto upper = Id::from_hex("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF");
  ASSERT_TRUE(upper);
  EXPECT_EQ(*upper, *id);
}

TEST(Id, FromHexRejectsWrongLengthOrDigits) {
  EXPECT_FALSE(Id::from_hex(""));
  EXPECT_FALSE(Id::from_hex("0011"));
  EXPECT_FALSE(Id::from_hex(std::string(62, 'a')));
  EXPECT_FALSE(Id::from_hex(std::string(66, 'a')));
  EXPECT_FALSE(Id::from_hex(std::string(63, 'a') + "g"));
}

TEST(Id, RandomIdsDifferAndAreNotZero) {
  std::set<Id> ids;
  for (int i = 0; i < 100; ++i) {
    Id id = Id::random();
    EXPECT_FALSE(id.is_zero());
    EXPECT_TRUE(ids.insert(id).second);
  }
  EXPECT_TRUE(Id{}.is_zero());
}

TEST(Id, OrdersBytewise) {
  Id a, b;
  a.bytes[0] = 1;
  b.bytes[31] = 0xff;
  EXPECT_LT(b, a);
  EXPECT_LT(b.hex(), a.hex());
}

}  // namespace
}  // namespace lifeboat::repo
