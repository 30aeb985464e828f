#include "crypto/openssl_memory.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include <openssl/crypto.h>

#include "util/huge_alloc.h"

namespace lifeboat::crypto {
namespace {

// Every block starts with a header that records the size asked for, so that
// free and realloc know which allocator the block came from. 16 bytes keep
// the block as aligned as malloc's own (max_align_t).
struct alignas(16) Header {
  size_t size;
};
static_assert(sizeof(Header) == 16);

bool is_huge(size_t size) { return size + sizeof(Header) >= kHugeAllocMin; }

void* to_user(void* base) { return static_cast<char*>(base) + sizeof(Header); }
Header* header_of(void* user) { return reinterpret_cast<Header*>(static_cast<char*>(user) - sizeof(Header)); }

void* allocate(size_t size, const char*, int) {
  if (size > SIZE_MAX - kHugeAllocMin) return nullptr;
  void* base;
  if (is_huge(size)) {
    try {
      base = huge_alloc(size + sizeof(Header));
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
  } else {
    base = std::malloc(size + sizeof(Header));
    if (!base) return nullptr;
  }
  static_cast<Header*>(base)->size = size;
  return to_user(base);
}

void release(void* user, const char*, int) {
  if (!user) return;
  Header* h = header_of(user);
  if (is_huge(h->size)) {
    huge_free(h, h->size + sizeof(Header));
  } else {
    std::free(h);
  }
}

void* reallocate(void* user, size_t size, const char* file, int line) {
  if (!user) return allocate(size, file, line);
  if (size == 0) {  // OpenSSL's own realloc frees and returns NULL here
    release(user, file, line);
    return nullptr;
  }
  Header* h = header_of(user);
  size_t old = h->size;
  if (!is_huge(old) && !is_huge(size)) {
    void* base = std::realloc(h, size + sizeof(Header));
    if (!base) return nullptr;
    static_cast<Header*>(base)->size = size;
    return to_user(base);
  }
  void* fresh = allocate(size, file, line);
  if (!fresh) return nullptr;  // the old block stays valid, as realloc's does
  std::memcpy(fresh, user, old < size ? old : size);
  release(user, file, line);
  return fresh;
}

}  // namespace

bool install_openssl_allocator() { return CRYPTO_set_mem_functions(allocate, reallocate, release) == 1; }

}  // namespace lifeboat::crypto
