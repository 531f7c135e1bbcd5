// The PTX instructions Signet's kernels use, each behind a wrapper: inline PTX under nvcc, the
// host SIMT runtime's warp-collective implementation otherwise (kernels/cuda/simt/ptx_host.h).
// Kernel bodies call these and never contain `asm` themselves (tests/test_simt_lint.cpp).
//   f32_to_tf32(x)                       cvt.rna.tf32.f32
//   mma_m16n8k8_tf32(d, a, b, c)         mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32
//   mma_m16n8k16_bf16(d, a, b, c)        mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
//   ldmatrix(r, matrices, trans, addr)   ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16
//   cp_async(dst, src, bytes)            cp.async.ca.shared.global (4, 8 or 16 bytes)
//   cp_async_commit_group(), cp_async_wait_group(n), cp_async_wait_all()
#pragma once
#include <cstdint>

#include "kernels/cuda/cuda_compat.h"

#if defined(SIGNET_CUDA_SIMT)
#include "kernels/cuda/simt/ptx_host.h"
#else
namespace signet::cuda {

__device__ __forceinline__ uint32_t f32_to_tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
  return r;
}

__device__ __forceinline__ void mma_m16n8k8_tf32(float d[4], const uint32_t a[4],
                                                 const uint32_t b[2], const float c[4]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%10, %11, %12, %13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]),
        "f"(c[2]), "f"(c[3]));
}

__device__ __forceinline__ void mma_m16n8k16_bf16(float d[4], const uint32_t a[4],
                                                  const uint32_t b[2], const float c[4]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%10, %11, %12, %13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]),
        "f"(c[2]), "f"(c[3]));
}

// `matrices` and `trans` are compile-time constants at every call site, so one branch remains.
__device__ __forceinline__ void ldmatrix(uint32_t* r, int matrices, bool trans,
                                         const void* row_address) {
  const unsigned a = unsigned(__cvta_generic_to_shared(row_address));
  if (matrices == 1 && !trans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\n" : "=r"(r[0]) : "r"(a));
  else if (matrices == 1)
    asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];\n"
                 : "=r"(r[0])
                 : "r"(a));
  else if (matrices == 2 && !trans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];\n"
                 : "=r"(r[0]), "=r"(r[1])
                 : "r"(a));
  else if (matrices == 2)
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];\n"
                 : "=r"(r[0]), "=r"(r[1])
                 : "r"(a));
  else if (!trans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
  else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
}

__device__ __forceinline__ void cp_async(void* shared_dst, const void* global_src, int bytes) {
  const unsigned d = unsigned(__cvta_generic_to_shared(shared_dst));
  if (bytes == 16)
    asm volatile("cp.async.ca.shared.global [%0], [%1], 16;\n" ::"r"(d), "l"(global_src));
  else if (bytes == 8)
    asm volatile("cp.async.ca.shared.global [%0], [%1], 8;\n" ::"r"(d), "l"(global_src));
  else
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(d), "l"(global_src));
}

__device__ __forceinline__ void cp_async_commit_group() {
  asm volatile("cp.async.commit_group;\n" ::);
}

// wait_group takes an immediate: the common depths are spelled out.
__device__ __forceinline__ void cp_async_wait_group(int newest_pending) {
  if (newest_pending <= 0)
    asm volatile("cp.async.wait_group 0;\n" ::);
  else if (newest_pending == 1)
    asm volatile("cp.async.wait_group 1;\n" ::);
  else if (newest_pending == 2)
    asm volatile("cp.async.wait_group 2;\n" ::);
  else
    asm volatile("cp.async.wait_group 3;\n" ::);
}

__device__ __forceinline__ void cp_async_wait_all() {
  asm volatile("cp.async.wait_all;\n" ::);
}

}  // namespace signet::cuda
#endif
