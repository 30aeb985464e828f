#include "util/huge_alloc.h"

#include <sys/mman.h>

#include <cstdint>
#include <new>

namespace lifeboat {
namespace {

constexpr size_t kHuge = size_t{2} << 20;

size_t round_up(size_t n) { return (n + kHuge - 1) & ~(kHuge - 1); }

}  // namespace

void* huge_alloc(size_t n) {
  size_t len = round_up(n);
  // Map one huge page more and cut the unaligned ends away.
  void* raw = ::mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  auto base = reinterpret_cast<uintptr_t>(raw);
  uintptr_t start = (base + kHuge - 1) & ~(uintptr_t{kHuge} - 1);
  if (start > base) ::munmap(raw, start - base);
  uintptr_t end = base + len + kHuge;
  if (end > start + len) ::munmap(reinterpret_cast<void*>(start + len), end - (start + len));
  ::madvise(reinterpret_cast<void*>(start), len, MADV_HUGEPAGE);  // advice: harmless where THP is off
  return reinterpret_cast<void*>(start);
}

void huge_free(void* p, size_t n) noexcept {
  if (p) ::munmap(p, round_up(n));
}

}  // namespace lifeboat
