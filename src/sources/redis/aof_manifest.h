// Redis 7's multi-part AOF: a directory (appenddirname) holding a base file
// (RDB or AOF), incremental AOF files, and a manifest naming them:
//
//   file appendonly.aof.2.base.rdb seq 2 type b
//   file appendonly.aof.2.incr.aof seq 2 type i
//
// Type h (history) files are left over from a rewrite and are not loaded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace lifeboat::sources::redis {

struct AofFile {
  std::string name;
  char type = 0;  // 'b' base, 'i' incremental, 'h' history
  long long seq = 0;
};

// The files of a manifest, in its order; kCorrupt naming the line that does
// not parse. Names are plain file names (a name with a '/' is refused).
Result<std::vector<AofFile>> parse_aof_manifest(std::string_view text);

}  // namespace lifeboat::sources::redis
