#include "util/posix_error.h"

#include <cerrno>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

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

Status make_dirs(const std::string& path, unsigned mode) {
  for (size_t pos = 0; pos != std::string::npos;) {
    pos = path.find('/', pos + 1);
    std::string level = path.substr(0, pos);
    if (level.empty() || level == "/") continue;
    if (::mkdir(level.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST)
      return posix_error(errno, "unable to create directory " + level);
  }
  // EEXIST above also covers a file in the way; the path must end as a directory.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return posix_error(errno, "unable to create directory " + path);
  if (!S_ISDIR(st.st_mode)) return posix_error(ENOTDIR, "unable to create directory " + path);
  return Status::ok();
}

Status write_all(int fd, ByteSpan data, const std::string& what) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return posix_error(errno, "unable to write " + what);
    }
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

}  // namespace lifeboat
