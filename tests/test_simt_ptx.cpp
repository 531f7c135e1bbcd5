// The PTX wrappers (kernels/cuda/ptx.h) in the host SIMT mode, checked against matrices laid
// out by this file's own reading of the PTX ISA fragment tables (groupID = lane / 4,
// threadID_in_group = lane % 4), and cp.async's wait semantics.
#define SIGNET_CUDA_SIMT 1

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cuda/ptx.h"
#include "tests/test_simt_buffer.h"

namespace signet::cuda {
namespace {

// Row and column of element i of a lane's fragment, straight from the PTX ISA's tables.
struct At {
  int row, col;
};
// mma.m16n8k8 .tf32: a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4).
__host__ __device__ At tf32_a(int lane, int i) {
  return At{lane / 4 + (i % 2 == 1 ? 8 : 0), lane % 4 + (i >= 2 ? 4 : 0)};
}
// mma.m16n8k8 .tf32: b0 (t, g), b1 (t+4, g).
__host__ __device__ At tf32_b(int lane, int i) {
  return At{lane % 4 + 4 * i, lane / 4};
}
// mma.m16n8k16 .bf16: row g for a0, a1, a4, a5 and g+8 otherwise; column 2t + (i & 1), + 8 for
// i >= 4.
__host__ __device__ At bf16_a(int lane, int i) {
  const bool upper = (i >= 2 && i < 4) || i >= 6;
  return At{lane / 4 + (upper ? 8 : 0), 2 * (lane % 4) + (i & 1) + (i >= 4 ? 8 : 0)};
}
// mma.m16n8k16 .bf16: row 2t + (i & 1), + 8 for i >= 2; column g.
__host__ __device__ At bf16_b(int lane, int i) {
  return At{2 * (lane % 4) + (i & 1) + (i >= 2 ? 8 : 0), lane / 4};
}
// C and D of both shapes: c0, c1 in row g, c2, c3 in row g+8, columns 2t and 2t + 1.
__host__ __device__ At f32_c(int lane, int i) {
  return At{lane / 4 + (i >= 2 ? 8 : 0), 2 * (lane % 4) + (i & 1)};
}

__host__ __device__ uint32_t float_bits(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  return u;
}
// bf16 of a float whose low 16 bits are zero (the test values are small integers).
__host__ __device__ uint32_t bf16_bits(float x) {
  return float_bits(x) >> 16;
}

// One warp: D (16x8) = A (16x8) B (8x8) + C, all row-major in global memory.
__global__ void mma_tf32(const float* a, const float* b, const float* c, float* d) {
  const int lane = int(threadIdx.x);
  uint32_t af[4], bf[2];
  float cf[4], df[4];
  for (int i = 0; i < 4; ++i) af[i] = f32_to_tf32(a[tf32_a(lane, i).row * 8 + tf32_a(lane, i).col]);
  for (int i = 0; i < 2; ++i) bf[i] = f32_to_tf32(b[tf32_b(lane, i).row * 8 + tf32_b(lane, i).col]);
  for (int i = 0; i < 4; ++i) cf[i] = c[f32_c(lane, i).row * 8 + f32_c(lane, i).col];
  mma_m16n8k8_tf32(df, af, bf, cf);
  for (int i = 0; i < 4; ++i) d[f32_c(lane, i).row * 8 + f32_c(lane, i).col] = df[i];
}

// One warp: D (16x8) = A (16x16) B (16x8) + C with bf16 inputs packed two to a register.
__global__ void mma_bf16(const float* a, const float* b, const float* c, float* d) {
  const int lane = int(threadIdx.x);
  uint32_t af[4] = {0, 0, 0, 0}, bf[2] = {0, 0};
  float cf[4], df[4];
  for (int i = 0; i < 8; ++i)
    af[i / 2] |= bf16_bits(a[bf16_a(lane, i).row * 16 + bf16_a(lane, i).col]) << (16 * (i % 2));
  for (int i = 0; i < 4; ++i)
    bf[i / 2] |= bf16_bits(b[bf16_b(lane, i).row * 8 + bf16_b(lane, i).col]) << (16 * (i % 2));
  for (int i = 0; i < 4; ++i) cf[i] = c[f32_c(lane, i).row * 8 + f32_c(lane, i).col];
  mma_m16n8k16_bf16(df, af, bf, cf);
  for (int i = 0; i < 4; ++i) d[f32_c(lane, i).row * 8 + f32_c(lane, i).col] = df[i];
}

// Small integers, exact in bf16 and tf32 and in every partial sum.
std::vector<float> small_ints(int n, int seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[size_t(i)] = float((i * 7 + seed * 13) % 9 - 4);
  return v;
}

std::vector<float> cpu_mma(const std::vector<float>& a, const std::vector<float>& b,
                           const std::vector<float>& c, int k) {
  std::vector<float> d = c;
  for (int r = 0; r < 16; ++r)
    for (int col = 0; col < 8; ++col)
      for (int j = 0; j < k; ++j)
        d[size_t(r * 8 + col)] += a[size_t(r * k + j)] * b[size_t(j * 8 + col)];
  return d;
}

TEST(SimtPtx, MmaTf32FollowsFragmentLayout) {
  const std::vector<float> a = small_ints(16 * 8, 1), b = small_ints(8 * 8, 2),
                           c = small_ints(16 * 8, 3);
  DeviceBuffer<float> da(a), db(b), dc(c), dd(16 * 8);
  launch_kernel(mma_tf32, 1, 32, 0, nullptr, da.get(), db.get(), dc.get(), dd.get());
  EXPECT_EQ(dd.read(), cpu_mma(a, b, c, 8));
}

TEST(SimtPtx, MmaBf16FollowsFragmentLayout) {
  const std::vector<float> a = small_ints(16 * 16, 4), b = small_ints(16 * 8, 5),
                           c = small_ints(16 * 8, 6);
  DeviceBuffer<float> da(a), db(b), dc(c), dd(16 * 8);
  launch_kernel(mma_bf16, 1, 32, 0, nullptr, da.get(), db.get(), dc.get(), dd.get());
  EXPECT_EQ(dd.read(), cpu_mma(a, b, c, 16));
}

TEST(SimtPtx, Tf32RoundsToNearestTiesAway) {
  auto tf32 = [](float x) {
    const uint32_t u = f32_to_tf32(x);
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  };
  EXPECT_EQ(tf32(1.0f + std::ldexp(1.0f, -11)), 1.0f + std::ldexp(1.0f, -10));  // tie: away
  EXPECT_EQ(tf32(1.0f + std::ldexp(1.0f, -12)), 1.0f);
  EXPECT_EQ(tf32(-1.0f - std::ldexp(1.0f, -11)), -1.0f - std::ldexp(1.0f, -10));
}

// Four 8x8 matrices of 16-bit values m * 64 + row * 8 + col in shared memory; lane l points at
// row l % 8 of matrix l / 8; every lane stores what ldmatrix gave it.
__global__ void load_matrices(uint32_t* out, int trans) {
  __shared__ uint16_t tiles[4 * 64];
  const int lane = int(threadIdx.x);
  for (int i = lane; i < 4 * 64; i += 32) tiles[i] = uint16_t(i);
  __syncwarp();
  uint32_t r[4];
  ldmatrix(r, 4, trans != 0, &tiles[lane * 8]);
  for (int m = 0; m < 4; ++m) out[lane * 4 + m] = r[m];
}

TEST(SimtPtx, LdmatrixX4PlainAndTransposed) {
  for (int trans : {0, 1}) {
    DeviceBuffer<uint32_t> out(32 * 4);
    launch_kernel(load_matrices, 1, 32, 0, nullptr, out.get(), trans);
    const std::vector<uint32_t> h = out.read();
    for (int lane = 0; lane < 32; ++lane)
      for (int m = 0; m < 4; ++m) {
        // Lane l holds row l / 4, columns 2 (l % 4) and 2 (l % 4) + 1 of matrix m (transposed).
        uint32_t want = 0;
        for (int e = 0; e < 2; ++e) {
          const int row = lane / 4, col = 2 * (lane % 4) + e;
          const int value = trans ? m * 64 + col * 8 + row : m * 64 + row * 8 + col;
          want |= uint32_t(value) << (16 * e);
        }
        EXPECT_EQ(h[size_t(lane * 4 + m)], want) << "trans " << trans << " lane " << lane;
      }
  }
}

// Two commit groups of 16-byte copies into dynamic shared memory, read after waiting for only
// the older group: the newer one has not landed, so its slots still hold the NaN fill.
__global__ void async_copies(const float* src, float* out) {
  SIGNET_DYNAMIC_SHARED(float, s);
  const int t = int(threadIdx.x);
  cp_async(&s[4 * t], &src[4 * t], 16);
  cp_async_commit_group();
  cp_async(&s[128 + 4 * t], &src[128 + 4 * t], 16);
  cp_async_commit_group();
  cp_async_wait_group(1);
  __syncthreads();
  for (int i = 0; i < 8; ++i) out[t * 8 + i] = s[t * 8 + i];
  __syncthreads();
  cp_async_wait_all();
  __syncthreads();
  for (int i = 0; i < 8; ++i) out[256 + t * 8 + i] = s[t * 8 + i];
}

TEST(SimtPtx, CpAsyncLandsAtTheWait) {
  std::vector<float> src(256);
  for (int i = 0; i < 256; ++i) src[size_t(i)] = float(i);
  DeviceBuffer<float> dsrc(src), out(512);
  launch_kernel(async_copies, 1, 32, 256 * sizeof(float), nullptr, dsrc.get(), out.get());
  const std::vector<float> h = out.read();
  for (int i = 0; i < 128; ++i) EXPECT_EQ(h[size_t(i)], float(i));
  for (int i = 128; i < 256; ++i) EXPECT_TRUE(std::isnan(h[size_t(i)])) << i;  // missing wait
  for (int i = 0; i < 256; ++i) EXPECT_EQ(h[size_t(256 + i)], float(i));
}

TEST(SimtPtx, MmaNeedsTheWholeWarp) {
  DeviceBuffer<float> m(16 * 16);
  launch_kernel(mma_tf32, 1, 16, 0, nullptr, m.get(), m.get(), m.get(), m.get());
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  EXPECT_NE(last_error_detail().find("needs all 32 lanes of the warp"), std::string::npos)
      << last_error_detail();
  cudaGetLastError();
}

}  // namespace
}  // namespace signet::cuda
