#include "util/status.h"

#include <memory>

#include <gtest/gtest.h>


namespace lifeboat {
namespace {

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.is_ok());
  EXPECT_TRUE(static_cast<bool>(s));
  EXPECT_EQ(s.code(), ErrorCode::kOk);
  EXPECT_EQ(s.to_string(), "ok");
  EXPECT_EQ(s.exit_code(), 0);
}

TEST(Status, WithContextPrefixesMessage) {
  Status s(ErrorCode::kIo, "EIO");
  Status c = s.with_context("unable to read x");
  EXPECT_EQ(c.message(), "unable to read x: EIO");
  EXPECT_EQ(c.code(), ErrorCode::kIo);
  // The lvalue overload leaves the original alone.
  EXPECT_EQ(s.message(), "EIO");
}

TEST(Status, WithContextChainsOutermostFirst) {
  Status s = Status(ErrorCode::kNoSpace, "No space left on device")
                 .with_context("unable to write data/ab/abcd")
                 .with_context("backup failed");
  EXPECT_EQ(s.message(), "backup failed: unable to write data/ab/abcd: No space left on device");
  EXPECT_EQ(s.code(), ErrorCode::kNoSpace);
}

TEST(Status, WithContextKeepsRetryableBit) {
  Status s = Status(ErrorCode::kUnavailable, "s3 PUT 503", true).with_context("unable to write pack");
  EXPECT_TRUE(s.retryable());
  EXPECT_EQ(s.message(), "unable to write pack: s3 PUT 503");
}

TEST(Status, WithContextOnEmptyMessageUsesContextAlone) {
  Status s = Status(ErrorCode::kCorrupt, "").with_context("pack 1234");
  EXPECT_EQ(s.message(), "pack 1234");
}

TEST(Status, WithContextOnOkStaysOk) {
  Status s = Status::ok().with_context("anything");
  EXPECT_TRUE(s.is_ok());
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.to_string(), "ok");
}

TEST(Status, ToStringFallsBackToCodeName) {
  EXPECT_EQ(Status(ErrorCode::kWrongPassword, "").to_string(), "wrong password");
  EXPECT_EQ(Status(ErrorCode::kWrongPassword, "no key opens").to_string(), "no key opens");
}

TEST(Status, ExitCodeMapping) {
  EXPECT_EQ(Status(ErrorCode::kNoRepository, "x").exit_code(), 10);
  EXPECT_EQ(Status(ErrorCode::kLocked, "x").exit_code(), 11);
  EXPECT_EQ(Status(ErrorCode::kWrongPassword, "x").exit_code(), 12);
  EXPECT_EQ(Status(ErrorCode::kCancelled, "x").exit_code(), 130);
  EXPECT_EQ(Status(ErrorCode::kArchived, "x").exit_code(), 13);
  EXPECT_EQ(kExitNoRepository, 10);
  EXPECT_EQ(kExitLocked, 11);
  EXPECT_EQ(kExitWrongPassword, 12);
  EXPECT_EQ(kExitInterrupted, 130);
  for (ErrorCode c : {ErrorCode::kInvalidArgument, ErrorCode::kNotFound, ErrorCode::kAlreadyExists, ErrorCode::kIo,
                      ErrorCode::kNoSpace, ErrorCode::kCorrupt, ErrorCode::kPermission, ErrorCode::kUnavailable,
                      ErrorCode::kUnsupported, ErrorCode::kInternal}) {
    EXPECT_EQ(Status(c, "x").exit_code(), 1) << error_code_name(c);
  }
}

TEST(Status, EveryCodeHasAName) {
  for (int c = 0; c <= static_cast<int>(ErrorCode::kInternal); ++c)
    EXPECT_STRNE(error_code_name(static_cast<ErrorCode>(c)), "unknown") << c;
}

TEST(Result, HoldsValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, 42);
  EXPECT_TRUE(r.status().is_ok());
}

TEST(Result, HoldsError) {
  Result<int> r = Status(ErrorCode::kNotFound, "snapshot abcd not found");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(), "snapshot abcd not found");
}

TEST(Result, MovesOutMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.is_ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

Result<int> parse_positive(int v) {
  if (v <= 0) return Status(ErrorCode::kInvalidArgument, "not positive");
  return v;
}

Result<int> doubled(int v) {
  LB_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

Status check_both(int a, int b) {
  LB_RETURN_IF_ERROR(parse_positive(a).status());
  LB_RETURN_IF_ERROR(parse_positive(b).status().with_context("second"));
  return Status::ok();
}

TEST(Result, AssignOrReturnPropagates) {
  auto ok = doubled(21);
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(*ok, 42);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message(), "not positive");
}

TEST(Result, ReturnIfErrorPropagates) {
  EXPECT_TRUE(check_both(1, 2).is_ok());
  EXPECT_EQ(check_both(-1, 2).message(), "not positive");
  EXPECT_EQ(check_both(1, -2).message(), "second: not positive");
}

}  // namespace
}  // namespace lifeboat
