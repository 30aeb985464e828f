// OpenSSL's allocations, with its large ones in transparent huge pages.
//
// scrypt at the repository's parameters (N=2^16, r=8) works in a 64 MiB
// buffer that OpenSSL allocates for every key derivation, that is for every
// command that opens a repository. Through malloc that buffer is mapped in
// 4 KiB pages: 16,000 page faults, about 0.2 s of a command's 0.4 s on the
// VMs we measure on (util/huge_alloc.h). Handed to OpenSSL as its allocator,
// the functions here put blocks of kHugeAllocMin or more in huge pages (32
// faults) and everything smaller in malloc, as before.
#pragma once

namespace lifeboat::crypto {

// Installs the allocator. OpenSSL accepts one only before its first
// allocation, so call this first thing in main(); returns false (and
// changes nothing) when it is too late.
bool install_openssl_allocator();

}  // namespace lifeboat::crypto
