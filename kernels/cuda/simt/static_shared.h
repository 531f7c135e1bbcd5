// Static `__shared__` variables of the host SIMT mode: runtime.h places every one of them in the
// thread-local section `signet_shared`, so the runtime can find them all and refill them with NaN
// before each block, as it does for dynamic shared memory.
#pragma once
#include <cstddef>

// The section every static __shared__ variable goes to (see __shared__ in runtime.h).
#define SIGNET_SIMT_SHARED_SECTION "signet_shared"

#include <cstdint>

namespace signet::simt {

// What fresh shared memory holds in every 4-byte word: a quiet NaN as a float, and two of them
// make a quiet NaN as a double (exponent bits 0x7ff in the high word).
constexpr uint32_t kSharedNaNWord = 0x7ffc0000u;

// The calling OS thread's copy of the static shared section and its size in bytes (null and 0
// when no kernel in the program declares a __shared__ variable).
void* static_shared_base();
size_t static_shared_bytes();
// Fills the calling thread's static shared section with kSharedNaNWord, aligned to the addresses
// so every 4-byte float and 8-byte double reads as NaN (done before each block).
void fill_static_shared();

}  // namespace signet::simt
