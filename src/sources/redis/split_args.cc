#include "sources/redis/split_args.h"

#include <charconv>

namespace lifeboat::sources::redis {

bool split_redis_args(std::string_view line, std::vector<std::string>& out) {
  out.clear();
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    std::string word;
    if (line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        char c = line[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < line.size()) {
          char e = line[i++];
          switch (e) {
            case 'n': word.push_back('\n'); break;
            case 'r': word.push_back('\r'); break;
            case 't': word.push_back('\t'); break;
            case 'x': {
              if (i + 2 > line.size()) return false;
              int v = 0;
              auto [p, ec] = std::from_chars(line.data() + i, line.data() + i + 2, v, 16);
              if (ec != std::errc() || p != line.data() + i + 2) return false;
              word.push_back(static_cast<char>(v));
              i += 2;
              break;
            }
            default: word.push_back(e);
          }
          continue;
        }
        word.push_back(c);
      }
      if (!closed) return false;
      if (i < line.size() && line[i] != ' ' && line[i] != '\t') return false;
    } else if (line[i] == '\'') {
      // 'single quotes': only \' is an escape.
      ++i;
      bool closed = false;
      while (i < line.size()) {
        char c = line[i++];
        if (c == '\\' && i < line.size() && line[i] == '\'') {
          word.push_back('\'');
          ++i;
          continue;
        }
        if (c == '\'') {
          closed = true;
          break;
        }
        word.push_back(c);
      }
      if (!closed) return false;
      if (i < line.size() && line[i] != ' ' && line[i] != '\t') return false;
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') word.push_back(line[i++]);
    }
    out.push_back(std::move(word));
  }
  return true;
}

}  // namespace lifeboat::sources::redis
