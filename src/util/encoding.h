// Byte encodings used by the repository format: hex, base64, LEB128 varints,
// zigzag and little-endian fixed-width integers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/bytes.h"

namespace lifeboat {

std::string hex_encode(ByteSpan data);
// Returns nullopt unless `hex` has even length and only [0-9a-fA-F].
std::optional<Bytes> hex_decode(std::string_view hex);

std::string base64_encode(ByteSpan data);
std::optional<Bytes> base64_decode(std::string_view text);

inline void put_varint(Bytes& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v) | 0x80);
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}
inline uint64_t zigzag_encode(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t zigzag_decode(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

inline void put_fixed32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void put_fixed64(Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline uint32_t get_fixed32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t get_fixed64(const uint8_t* p) {
  return uint64_t(get_fixed32(p)) | uint64_t(get_fixed32(p + 4)) << 32;
}

// A bounds-checked cursor over encoded bytes. Every getter returns false on
// truncated or malformed input and leaves the reader in a failed state.
class ByteReader {
 public:
  explicit ByteReader(ByteSpan data) : data_(data) {}

  bool varint(uint64_t& v);
  bool u8(uint8_t& v);
  bool fixed32(uint32_t& v);
  bool fixed64(uint64_t& v);
  bool bytes(size_t n, ByteSpan& out);
  // A varint length followed by that many bytes.
  bool length_prefixed(ByteSpan& out);

  size_t remaining() const { return data_.size() - pos_; }
  bool done() const { return pos_ == data_.size(); }
  size_t position() const { return pos_; }
  // True once any read has failed; every later read fails too, so a parser
  // may check once at the end.
  bool failed() const { return failed_; }

 private:
  bool fail() {
    failed_ = true;
    return false;
  }

  ByteSpan data_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace lifeboat
