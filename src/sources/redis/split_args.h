// Splitting a line into words the way Redis does (sdssplitargs), for AOF
// manifests and for the Redis commands of verify-restore's assertions
// ("GET \"my key\""): words separated by spaces or tabs; a word may be
// "double-quoted" (escapes \" \\ \n \r \t \xHH) or 'single-quoted' (\').
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::sources::redis {

// False for unbalanced quotes or a closing quote not followed by a space.
bool split_redis_args(std::string_view line, std::vector<std::string>& out);

}  // namespace lifeboat::sources::redis
