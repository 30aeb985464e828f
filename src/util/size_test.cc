#include "util/size.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

TEST(ParseSize, NumbersAndUnits) {
  EXPECT_EQ(*parse_size("0"), 0u);
  EXPECT_EQ(*parse_size("500"), 500u);
  EXPECT_EQ(*parse_size("500B"), 500u);
  EXPECT_EQ(*parse_size("64k"), 64u << 10);
  EXPECT_EQ(*parse_size("64K"), 64u << 10);
  EXPECT_EQ(*parse_size("10M"), 10u << 20);
  EXPECT_EQ(*parse_size("10MiB"), 10u << 20);
  EXPECT_EQ(*parse_size("10mb"), 10u << 20);
  EXPECT_EQ(*parse_size("2G"), uint64_t{2} << 30);
  EXPECT_EQ(*parse_size("1T"), uint64_t{1} << 40);
}

TEST(ParseSize, RejectsWhatIsNotASize) {
  for (const char* s : {"", "M", "-5", "5X", "1.5G", "5 M", "5MBs", "5Bi", "99999999999999999999",
                        "17179869184G"}) {
    auto r = parse_size(s);
    ASSERT_FALSE(r.is_ok()) << s;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << s;
    EXPECT_NE(r.status().message().find(std::string("\"") + s + "\""), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace lifeboat
