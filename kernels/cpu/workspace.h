// The CPU kernels' view of the caller's scratch: they align it up to 64 bytes themselves (one
// cache line, one AVX-512 vector), which is why every *_workspace_bytes adds 64.
#pragma once
#include <cstddef>
#include <cstdint>

namespace signet::cpu {

// The workspace aligned up to 64 bytes, as T*.
template <class T = char>
T* aligned64(void* workspace) {
  const uintptr_t p = reinterpret_cast<uintptr_t>(workspace);
  return reinterpret_cast<T*>((p + 63) / 64 * 64);
}

// x rounded up to a multiple of 64.
constexpr size_t round64(size_t x) {
  return (x + 63) / 64 * 64;
}

}  // namespace signet::cpu
