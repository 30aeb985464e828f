// expectation_holds: the --expect of verify-restore's assertions.
//
//   ">0"  ">=1"  "<10"  "<=10"  "=42"  "==42"  "!=0"  "<>0"  a comparison with a number
//   "=abc" "!=abc"                                        equality with text
//   "42"  "t"  "abc"                                      a literal: the value equals it
//
// Numbers compare as numbers ("42" equals "42.0"); a comparison with an
// order (<, >, ...) needs both sides to be numbers.
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "ops/verify_restore.h"

namespace lifeboat::ops {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool parse_number(std::string_view s, long double& out) {
  s = trim(s);
  if (s.empty()) return false;
  std::string text(s);
  char* end = nullptr;
  errno = 0;
  out = std::strtold(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE) return false;
  // strtold also takes "inf", "nan" and hex: only plain decimal numbers count.
  for (char c : text)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'))
      return false;
  return true;
}

}  // namespace

Result<bool> expectation_holds(std::string_view expect, std::string_view value) {
  std::string_view e = trim(expect);
  if (e.empty())
    return Status(ErrorCode::kInvalidArgument,
                  "empty expectation: give one such as \">0\", \"=42\", \"<=10\", \"!=0\" or a value");
  static constexpr std::string_view kOps[] = {">=", "<=", "!=", "<>", "==", ">", "<", "="};
  std::string_view op;
  for (auto candidate : kOps)
    if (e.substr(0, candidate.size()) == candidate) {
      op = candidate;
      break;
    }
  std::string_view operand = op.empty() ? e : trim(e.substr(op.size()));
  if (op.empty() || op == "==") op = "=";
  if (op == "<>") op = "!=";
  long double want = 0, got = 0;
  bool want_num = parse_number(operand, want);
  bool got_num = parse_number(value, got);
  if (op == "=" || op == "!=") {
    bool equal = want_num && got_num ? want == got : trim(value) == operand;
    return op == "=" ? equal : !equal;
  }
  if (!want_num)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("expectation \"{}\": {} needs a number after it", expect, op));
  if (!got_num)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("the result \"{}\" is not a number, so it cannot be {} {}", value, op, operand));
  if (op == ">") return got > want;
  if (op == ">=") return got >= want;
  if (op == "<") return got < want;
  return got <= want;  // "<="
}

}  // namespace lifeboat::ops
