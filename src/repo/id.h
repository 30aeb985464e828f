// 256-bit identifiers: blob ids (keyed hash of the plaintext), pack,
// index, snapshot, key and lock ids (random).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "util/bytes.h"

namespace lifeboat::repo {

struct Id {
  std::array<uint8_t, 32> bytes{};

  static Id random();
  static Id from_span(ByteSpan b);  // b.size() must be 32
  static std::optional<Id> from_hex(std::string_view hex);

  std::string hex() const;
  std::string short_hex() const { return hex().substr(0, 8); }
  bool is_zero() const;
  ByteSpan span() const { return ByteSpan(bytes.data(), bytes.size()); }

  auto operator<=>(const Id&) const = default;
};

struct IdHash {
  size_t operator()(const Id& id) const {
    // Ids are keyed hashes or random: any 8 bytes are uniformly distributed.
    size_t h;
    std::memcpy(&h, id.bytes.data() + 8, sizeof h);
    return h;
  }
};

}  // namespace lifeboat::repo
