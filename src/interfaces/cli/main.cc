#include <malloc.h>

#include "crypto/openssl_memory.h"
#include "interfaces/cli/cli.h"

int main(int argc, char** argv) {
  // Before anything allocates through OpenSSL (crypto/openssl_memory.h).
  lifeboat::crypto::install_openssl_allocator();
  // Large buffers (packs, read windows) are mmapped and returned to the OS
  // when freed. glibc's default raises the mmap threshold dynamically after
  // the first large free, which lets freed packs pile up in the heap (peak
  // RSS 225 MB instead of ~130 MB on the benchmark dataset).
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_ARENA_MAX, 4);
  // Below that, freed memory stays mapped up to 64 MiB per arena: a backup
  // allocates and frees a buffer per small file, and memory given back at
  // every trim came back as fresh pages (a page fault each, 1-10 us on a VM).
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  return lifeboat::cli::run(argc, argv);
}
