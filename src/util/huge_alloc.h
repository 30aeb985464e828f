// Large buffers in transparent huge pages.
//
// A fresh 4 KiB page costs a page fault on first touch: 0.1-0.3 us on bare
// metal, 10 us on the paravirtualised VMs we measure on (a backup of the
// bench dataset took 150,000 of them, 1.6 s). Buffers of kHugeAllocMin or
// more (packs, read windows, HTTP bodies) are mapped on their own, 2 MiB
// aligned, and marked MADV_HUGEPAGE, so the kernel backs them a 2 MiB page
// per fault (0.25 us per 4 KiB there). Where THP is off, this is an mmap
// like glibc's own for such sizes. At most 2 MiB per buffer of the last
// page's tail may be resident without being used.
#pragma once

#include <cstddef>

namespace lifeboat {

inline constexpr size_t kHugeAllocMin = size_t{2} << 20;

// `n` bytes (at least kHugeAllocMin), 2 MiB aligned; throws std::bad_alloc.
void* huge_alloc(size_t n);
// Frees what huge_alloc(n) returned, with the same n.
void huge_free(void* p, size_t n) noexcept;

}  // namespace lifeboat
