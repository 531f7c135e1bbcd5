#include "kernels/cuda/gemm_naive.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

using kernels::GemmDesc;

// Thread (x, y) of block (bx, by, batch) computes C[row = by*16+y][col = bx*16+x] of its batch
// item, accumulating over k in order; beta == 0 ignores C's previous value (even NaN).
__global__ void gemm_naive_kernel(GemmDesc d, float alpha, float beta, const float* __restrict__ a,
                                  const float* __restrict__ b, float* __restrict__ c) {
  const int64_t row = int64_t(blockIdx.y) * blockDim.y + threadIdx.y;
  const int64_t col = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= d.m || col >= d.n) return;
  const float* ab = a + int64_t(blockIdx.z) * d.stride_a;
  const float* bb = b + int64_t(blockIdx.z) * d.stride_b;
  float acc = 0.0f;
  for (int64_t p = 0; p < d.k; ++p) {
    const float x = d.trans_a ? ab[p * d.lda + row] : ab[row * d.lda + p];
    const float y = d.trans_b ? bb[col * d.ldb + p] : bb[p * d.ldb + col];
    acc = fmaf(x, y, acc);
  }
  float* out = c + int64_t(blockIdx.z) * d.stride_c + row * d.ldc + col;
  *out = beta == 0.0f ? alpha * acc : alpha * acc + beta * *out;
}

}  // namespace

// 16 x 16 threads a block, one grid z per batch item (at most 65535).
cudaError_t gemm_v1_naive_f32(const GemmDesc& d, const float* a, const float* b, float* c) {
  if (d.m == 0 || d.n == 0 || d.batch == 0) return cudaSuccess;
  if (d.batch > 65535 || (d.m + 15) / 16 > 65535) return cudaErrorInvalidConfiguration;
  const dim3 block(16, 16);
  const dim3 grid(unsigned((d.n + 15) / 16), unsigned((d.m + 15) / 16), unsigned(d.batch));
  launch_kernel(gemm_naive_kernel, grid, block, 0, current_stream(), d, float(d.alpha),
                float(d.beta), a, b, c);
  return cudaGetLastError();
}

}  // namespace signet::cuda
