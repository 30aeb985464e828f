#include "repo/id.h"

#include <algorithm>

#include "crypto/random.h"
#include "util/encoding.h"

namespace lifeboat::repo {

Id Id::random() {
  Id id;
  crypto::random_fill(id.bytes);
  return id;
}

Id Id::from_span(ByteSpan b) {
  Id id;
  std::copy_n(b.begin(), std::min(b.size(), id.bytes.size()), id.bytes.begin());
  return id;
}

std::optional<Id> Id::from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto b = hex_decode(hex);
  if (!b) return std::nullopt;
  return from_span(*b);
}

std::string Id::hex() const { return hex_encode(span()); }

bool Id::is_zero() const {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace lifeboat::repo
