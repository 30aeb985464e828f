#include "sources/redis/aof_manifest.h"

#include <charconv>

#include <fmt/format.h>

#include "sources/redis/split_args.h"

namespace lifeboat::sources::redis {

Result<std::vector<AofFile>> parse_aof_manifest(std::string_view text) {
  std::vector<AofFile> files;
  size_t start = 0;
  int lineno = 0;
  std::vector<std::string> args;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&](std::string_view why) {
      return Status(ErrorCode::kCorrupt, fmt::format("the AOF manifest is malformed at line {}: {}", lineno, why));
    };
    if (!split_redis_args(line, args)) return bad("unbalanced quotes");
    if (args.size() % 2 != 0) return bad("a key without a value");
    AofFile f;
    for (size_t i = 0; i < args.size(); i += 2) {
      const auto& k = args[i];
      const auto& v = args[i + 1];
      if (k == "file") {
        f.name = v;
      } else if (k == "seq") {
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), f.seq);
        if (ec != std::errc() || p != v.data() + v.size()) return bad("seq is not a number");
      } else if (k == "type") {
        if (v.size() != 1 || (v[0] != 'b' && v[0] != 'i' && v[0] != 'h')) return bad("unknown type " + v);
        f.type = v[0];
      }
      // Unknown keys are ignored, as Redis does.
    }
    if (f.name.empty() || f.type == 0) return bad("a file line needs a name and a type");
    if (f.name.find('/') != std::string::npos || f.name == "." || f.name == "..")
      return bad("the file name \"" + f.name + "\" is not a plain name");
    files.push_back(std::move(f));
  }
  return files;
}

}  // namespace lifeboat::sources::redis
