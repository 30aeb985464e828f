// Status and Result<T>: errors as values.
//
// Every fallible function returns a Status or a Result<T>; both are
// [[nodiscard]]. A Status carries a code from one table (ErrorCode), which is
// also what decides the process exit code (exit_code()), a message that grows
// context as it climbs ("unable to write data/ab/...: No space left on
// device"), and a retryable bit that storage drivers set and retry wrappers
// read.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace lifeboat {

enum class ErrorCode : unsigned char {
  kOk = 0,
  kInvalidArgument,   // the user asked for something malformed
  kNotFound,          // an object, path or snapshot does not exist
  kAlreadyExists,
  kIo,                // an I/O error from the OS or a backend
  kNoSpace,           // ENOSPC / quota
  kCorrupt,           // authentication or format check failed
  kPermission,
  kCancelled,         // interrupted by the user (SIGINT)
  kNoRepository,      // there is no repository at the location
  kLocked,            // a lock could not be acquired
  kWrongPassword,     // no key opens with the given password
  kUnavailable,       // a transient backend failure
  kUnsupported,
  kArchived,          // the object is in cold storage and must be thawed first
  kInternal,
};

// Process exit codes, as restic users know them (docs/EXIT_CODES.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFatal = 1;
inline constexpr int kExitPartial = 3;
inline constexpr int kExitNoRepository = 10;
inline constexpr int kExitLocked = 11;
inline constexpr int kExitWrongPassword = 12;
inline constexpr int kExitThawing = 13;
inline constexpr int kExitVerifyFailed = 14;  // verify-restore ran and a check failed
inline constexpr int kExitInterrupted = 130;

const char* error_code_name(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(ErrorCode code, std::string message, bool retryable = false)
      : code_(code), retryable_(retryable), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == ErrorCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  ErrorCode code() const { return code_; }
  bool retryable() const { return retryable_; }
  const std::string& message() const { return message_; }

  // Prefixes context: Status(kIo, "EIO").with_context("unable to read x")
  // has the message "unable to read x: EIO".
  Status with_context(const std::string& context) const&;
  Status with_context(const std::string& context) &&;

  int exit_code() const;
  std::string to_string() const;

  // Explicitly discards a status whose failure does not matter (best-effort
  // clean-up); the reason should be in a comment at the call site.
  void ignore() const {}

 private:
  ErrorCode code_ = ErrorCode::kOk;
  bool retryable_ = false;
  std::string message_;
};

inline Status error(ErrorCode code, std::string message) { return Status(code, std::move(message)); }

// Result<T> holds either a value or a non-ok Status (shaped like
// std::expected, which GCC 12 lacks).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {  // NOLINT(implicit)
    assert(!std::get<1>(v_).is_ok() && "Result constructed from an ok Status");
  }

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }

  T& value() & { assert(is_ok()); return std::get<0>(v_); }
  const T& value() const& { assert(is_ok()); return std::get<0>(v_); }
  T&& value() && { assert(is_ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  Status status() const { return is_ok() ? Status() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace lifeboat

#define LB_CONCAT_INNER(a, b) a##b
#define LB_CONCAT(a, b) LB_CONCAT_INNER(a, b)

// Returns the status from the enclosing function if `expr` failed.
#define LB_RETURN_IF_ERROR(expr)                        \
  do {                                                  \
    ::lifeboat::Status lb_status_ = (expr);             \
    if (!lb_status_.is_ok()) return lb_status_;         \
  } while (0)

// LB_ASSIGN_OR_RETURN(auto x, f()); declares/assigns x from a Result or returns
// its status.
#define LB_ASSIGN_OR_RETURN(lhs, expr) LB_ASSIGN_OR_RETURN_IMPL(LB_CONCAT(lb_result_, __LINE__), lhs, expr)
#define LB_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.is_ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
