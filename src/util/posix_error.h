// Turns errno values into Status with a code that callers can act on
// (ENOSPC -> kNoSpace, ENOENT -> kNotFound, ...).
#pragma once

#include <string>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat {

ErrorCode error_code_for_errno(int err);
// Status(code_for(err), what + ": " + strerror(err)).
Status posix_error(int err, const std::string& what);

// write(2) until all of `data` is written (EINTR retried); an error says
// "unable to write <what>: <strerror>".
Status write_all(int fd, ByteSpan data, const std::string& what);

// mkdir -p: creates `path` and its missing parents (absolute or relative)
// with `mode`. Existing directories are fine.
Status make_dirs(const std::string& path, unsigned mode = 0700);

}  // namespace lifeboat
