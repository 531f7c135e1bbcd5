#include "kernels/cuda/simt/static_shared.h"

#include <link.h>

#include <cstdint>
#include <cstring>

// Bounds of the section, filled in by the linker (weak: absent when no variable uses it). They
// are the addresses of the TLS template, not of any thread's copy.
extern "C" char __start_signet_shared[] __attribute__((weak));
extern "C" char __stop_signet_shared[] __attribute__((weak));

namespace signet::simt {
namespace {

// Finds the module whose PT_TLS segment holds the section and translates the section's template
// address into the calling thread's copy of that segment.
int find_copy(dl_phdr_info* info, size_t size, void* result) {
  if (size < offsetof(dl_phdr_info, dlpi_tls_data) + sizeof(info->dlpi_tls_data)) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_TLS) continue;
    const auto lo = reinterpret_cast<uintptr_t>(info->dlpi_addr + ph.p_vaddr);
    const auto start = reinterpret_cast<uintptr_t>(__start_signet_shared);
    if (start < lo || start >= lo + ph.p_memsz || !info->dlpi_tls_data) continue;
    *static_cast<char**>(result) = static_cast<char*>(info->dlpi_tls_data) + (start - lo);
    return 1;
  }
  return 0;
}

// This thread's copy, looked up once per thread.
char* thread_copy() {
  thread_local char* base = [] {
    char* found = nullptr;
    if (static_shared_bytes() != 0) dl_iterate_phdr(&find_copy, &found);
    return found;
  }();
  return base;
}

}  // namespace

size_t static_shared_bytes() {
  if (!__start_signet_shared || !__stop_signet_shared) return 0;
  return size_t(__stop_signet_shared - __start_signet_shared);
}

void* static_shared_base() {
  return thread_copy();
}

void fill_static_shared() {
  char* base = thread_copy();
  if (!base) return;
  unsigned char pattern[4];
  std::memcpy(pattern, &kSharedNaNWord, 4);
  const size_t bytes = static_shared_bytes();
  const auto at = reinterpret_cast<uintptr_t>(base);
  size_t i = 0;
  for (; i < bytes && (at + i) % 4 != 0; ++i) base[i] = char(pattern[(at + i) % 4]);
  for (; i + 4 <= bytes; i += 4) std::memcpy(base + i, pattern, 4);
  for (; i < bytes; ++i) base[i] = char(pattern[(at + i) % 4]);
}

}  // namespace signet::simt
