// Host forms of the PTX instructions wrapped in kernels/cuda/ptx.h: warp-collective
// implementations that follow the fragment layouts of the PTX ISA ("Matrix Fragments for
// mma.m16n8k8" and "mma.m16n8k16", "Warp-level matrix load instruction: ldmatrix"), and
// cp.async whose copies happen at the wait, so a missing wait reads stale shared memory.
#pragma once
#include <cstdint>

namespace signet::simt {

// cvt.rna.tf32.f32: rounds to 10 mantissa bits, ties away from zero; returns the f32 bits.
uint32_t f32_to_tf32(float x);

// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32: D = A (16x8) B (8x8) + C (16x8).
void mma_m16n8k8_tf32(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4],
                      const char* file = __builtin_FILE(), int line = __builtin_LINE());
// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32: D = A (16x16) B (16x8) + C (16x8);
// each a/b register holds two bf16, the lower-numbered element in the low half.
void mma_m16n8k16_bf16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4],
                       const char* file = __builtin_FILE(), int line = __builtin_LINE());

// ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16: lanes 8i..8i+7 give the row
// addresses of matrix i; lane l receives in r[i] row l/4, columns 2(l%4) and 2(l%4)+1 of
// matrix i (of its transpose with trans).
void ldmatrix(uint32_t* r, int matrices, bool trans, const void* row_address,
              const char* file = __builtin_FILE(), int line = __builtin_LINE());

// cp.async.ca.shared.global of 4, 8 or 16 bytes; cp.async.commit_group; wait_group(n) performs
// every committed group but the newest n; wait_all commits and performs everything.
void cp_async(void* shared_dst, const void* global_src, int bytes);
void cp_async_commit_group();
void cp_async_wait_group(int newest_pending);
void cp_async_wait_all();

}  // namespace signet::simt
