// Byte buffers and views.
//
// Bytes is a std::vector whose resize() does not zero new elements, so
// reading 8 MiB from a file or growing a pack buffer costs no memset, and
// whose large buffers lie in transparent huge pages (util/huge_alloc.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/huge_alloc.h"

namespace lifeboat {

template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  using std::allocator<T>::allocator;
  template <typename U>
  struct rebind { using other = DefaultInitAllocator<U>; };
  template <typename U>
  void construct(U* p) noexcept { ::new (static_cast<void*>(p)) U; }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) { ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...); }
#ifndef __SANITIZE_ADDRESS__  // AddressSanitizer checks heap blocks only: keep them there
  T* allocate(size_t n) {
    if (n * sizeof(T) >= kHugeAllocMin) return static_cast<T*>(huge_alloc(n * sizeof(T)));
    return std::allocator<T>::allocate(n);
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n * sizeof(T) >= kHugeAllocMin) huge_free(p, n * sizeof(T));
    else std::allocator<T>::deallocate(p, n);
  }
#endif
};

using Bytes = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;
using ByteSpan = std::span<const uint8_t>;
using MutableByteSpan = std::span<uint8_t>;

inline ByteSpan as_bytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view as_string_view(ByteSpan b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}
inline std::string to_string(ByteSpan b) { return std::string(as_string_view(b)); }

// Copies go through resize + memcpy: with DefaultInitAllocator, vector's
// range constructor, assign and insert copy byte by byte (an HTTP body of
// 16 MiB took 10 ms instead of 1).
inline void append(Bytes& out, ByteSpan b) {
  if (b.empty()) return;
  size_t at = out.size();
  out.resize(at + b.size());
  std::memcpy(out.data() + at, b.data(), b.size());
}
inline void append(Bytes& out, std::string_view s) { append(out, as_bytes(s)); }
inline Bytes to_bytes(ByteSpan b) {
  Bytes out;
  append(out, b);
  return out;
}
inline Bytes to_bytes(std::string_view s) { return to_bytes(as_bytes(s)); }

}  // namespace lifeboat
