#include "util/size.h"

#include <cctype>

#include <fmt/format.h>

namespace lifeboat {

Result<uint64_t> parse_size(std::string_view text) {
  auto bad = [&] {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("invalid size \"{}\": give a number of bytes with an optional unit k, M, G or T "
                              "(e.g. 500M)",
                              text));
  };
  size_t i = 0;
  uint64_t value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return bad();
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) return bad();
  std::string_view unit = text.substr(i);
  int shift = 0;
  if (!unit.empty()) {
    switch (std::tolower(static_cast<unsigned char>(unit[0]))) {
      case 'b': shift = 0; break;
      case 'k': shift = 10; break;
      case 'm': shift = 20; break;
      case 'g': shift = 30; break;
      case 't': shift = 40; break;
      default: return bad();
    }
    std::string_view rest = unit.substr(1);
    if (unit[0] == 'b' || unit[0] == 'B') {
      if (!rest.empty()) return bad();
    } else if (!(rest.empty() || rest == "B" || rest == "b" || rest == "iB" || rest == "ib")) {
      return bad();
    }
  }
  if (shift && value > (UINT64_MAX >> shift)) return bad();
  return value << shift;
}

}  // namespace lifeboat
