#include <gtest/gtest.h>

#include "ops/verify_restore.h"
#include "unit/test_util.h"

namespace lifeboat::ops {
namespace {

bool holds(std::string_view expect, std::string_view value) {
  auto r = expectation_holds(expect, value);
  EXPECT_TRUE(r.is_ok()) << expect << " / " << value << ": " << r.status().to_string();
  return r.is_ok() && *r;
}

TEST(ExpectationHolds, Comparisons) {
  EXPECT_TRUE(holds(">0", "1"));
  EXPECT_FALSE(holds(">0", "0"));
  EXPECT_TRUE(holds(">=1", "1"));
  EXPECT_TRUE(holds("<10", "9.5"));
  EXPECT_FALSE(holds("<=10", "11"));
  EXPECT_TRUE(holds("<= 10", "10"));
  EXPECT_TRUE(holds("!=0", "3"));
  EXPECT_FALSE(holds("<>0", "0"));
  EXPECT_TRUE(holds(">-1", "0"));
  EXPECT_TRUE(holds(">99999999999", "100000000000"));
}

TEST(ExpectationHolds, Equality) {
  EXPECT_TRUE(holds("=42", "42"));
  EXPECT_TRUE(holds("==42", "42.0"));
  EXPECT_FALSE(holds("=42", "43"));
  EXPECT_TRUE(holds("=abc", "abc"));
  EXPECT_FALSE(holds("=abc", "abd"));
  EXPECT_TRUE(holds("!=abc", "abd"));
  EXPECT_TRUE(holds("=NULL", "NULL"));
}

TEST(ExpectationHolds, Literal) {
  EXPECT_TRUE(holds("42", "42"));
  EXPECT_TRUE(holds("t", "t"));
  EXPECT_FALSE(holds("t", "f"));
  EXPECT_TRUE(holds(" 7 ", "7"));
  EXPECT_FALSE(holds("1e3", "999"));
  EXPECT_TRUE(holds("1e3", "1000"));
}

TEST(ExpectationHolds, Errors) {
  EXPECT_EQ(expectation_holds("", "1").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(expectation_holds(">", "1").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(expectation_holds(">abc", "1").status().code(), ErrorCode::kInvalidArgument);
  auto r = expectation_holds(">0", "abc");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("not a number"), std::string::npos);
  EXPECT_FALSE(expectation_holds(">0", "inf").is_ok());
}

}  // namespace
}  // namespace lifeboat::ops
