#include "util/posix_error.h"

#include <cerrno>
#include <cstring>

namespace lifeboat {

ErrorCode error_code_for_errno(int err) {
  switch (err) {
    case ENOENT: case ENOTDIR: return ErrorCode::kNotFound;
    case EEXIST: return ErrorCode::kAlreadyExists;
    case ENOSPC: case EDQUOT: case EFBIG: return ErrorCode::kNoSpace;
    case EACCES: case EPERM: case EROFS: return ErrorCode::kPermission;
    case EINTR: case EAGAIN: return ErrorCode::kUnavailable;
    default: return ErrorCode::kIo;
  }
}

Status posix_error(int err, const std::string& what) {
  char buf[256];
  // GNU strerror_r returns the message (maybe not in buf).
  const char* msg = strerror_r(err, buf, sizeof buf);
  return Status(error_code_for_errno(err), what + ": " + msg, err == EINTR || err == EAGAIN);
}

}  // namespace lifeboat
