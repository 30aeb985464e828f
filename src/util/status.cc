#include "util/status.h"

namespace lifeboat {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kAlreadyExists: return "already exists";
    case ErrorCode::kIo: return "i/o error";
    case ErrorCode::kNoSpace: return "no space";
    case ErrorCode::kCorrupt: return "corrupt";
    case ErrorCode::kPermission: return "permission denied";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kNoRepository: return "no repository";
    case ErrorCode::kLocked: return "locked";
    case ErrorCode::kWrongPassword: return "wrong password";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kArchived: return "archived";
    case ErrorCode::kInternal: return "internal error";
  }
  return "unknown";
}

Status Status::with_context(const std::string& context) const& {
  Status s = *this;
  return std::move(s).with_context(context);
}

Status Status::with_context(const std::string& context) && {
  if (is_ok()) return std::move(*this);
  message_ = message_.empty() ? context : context + ": " + message_;
  return std::move(*this);
}

int Status::exit_code() const {
  switch (code_) {
    case ErrorCode::kOk: return kExitOk;
    case ErrorCode::kNoRepository: return kExitNoRepository;
    case ErrorCode::kLocked: return kExitLocked;
    case ErrorCode::kWrongPassword: return kExitWrongPassword;
    case ErrorCode::kCancelled: return kExitInterrupted;
    case ErrorCode::kArchived: return kExitThawing;
    default: return kExitFatal;
  }
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return message_.empty() ? error_code_name(code_) : message_;
}

}  // namespace lifeboat
