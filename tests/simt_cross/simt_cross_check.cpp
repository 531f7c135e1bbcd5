// Self-checking program for the host SIMT runtime on another machine (built for aarch64 by
// .ci/simt_aarch64.sh and run under qemu-aarch64): fibers, barriers, shuffles, ballots, atomics,
// NaN-filled shared memory, callee-saved registers kept across switches, and the stuck-barrier
// diagnostic. No GoogleTest (no cross build of it); prints each failure and exits non-zero.
#define SIGNET_CUDA_SIMT 1

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {
namespace {

int failures = 0;

// Records a failed check with its line.
void check(bool ok, const char* what, int line) {
  if (!ok) {
    std::printf("FAIL line %d: %s\n", line, what);
    ++failures;
  }
}
#define CHECK(cond) check((cond), #cond, __LINE__)

// Launches on the default stream and waits; returns the synchronising call's error.
template <class... P, class... A>
cudaError_t run(void (*kernel)(P...), dim3 grid, dim3 block, size_t shmem, A... args) {
  launch_kernel(kernel, grid, block, shmem, nullptr, args...);
  const cudaError_t launch = cudaGetLastError();
  return launch != cudaSuccess ? launch : cudaDeviceSynchronize();
}

// Copies n values of a device array back to the host.
template <class T>
std::vector<T> read(const T* device, size_t n) {
  std::vector<T> host(n);
  cudaMemcpy(host.data(), device, n * sizeof(T), cudaMemcpyDeviceToHost);
  return host;
}

// Block sum through static shared memory and barriers (reverse-order tree reduction).
__global__ void block_sum(const float* in, float* out) {
  __shared__ float part[128];
  part[threadIdx.x] = in[blockIdx.x * 128 + threadIdx.x];
  __syncthreads();
  for (unsigned s = 64; s > 0; s >>= 1) {
    if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = part[0];
}

// Warp shuffles (xor butterfly, up, down, idx with width 8, out-of-range lane) and a ballot.
__global__ void warp_ops(int* out) {
  const int lane = int(threadIdx.x % 32);
  int sum = lane;
  for (int m = 16; m > 0; m >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, m);
  int* o = out + threadIdx.x * 6;
  o[0] = sum;
  o[1] = __shfl_up_sync(0xffffffffu, lane, 3);
  o[2] = __shfl_down_sync(0xffffffffu, lane, 5);
  o[3] = __shfl_sync(0xffffffffu, lane, 2, 8);
  o[4] = int(__ballot_sync(0xffffffffu, lane % 3 == 0));
  o[5] = __syncthreads_count(lane < 10);
}

// Many doubles live across each barrier: the switch must keep the callee-saved FP registers.
__global__ void live_doubles(double* out) {
  double a = threadIdx.x + 1.0, b = a * 0.5, c = a * 0.25, d = a * 2.0, e = a + 3.0, f = a - 1.0,
         g = a * a, h = 1.0 / a;
  for (int round = 0; round < 8; ++round) {
    __syncthreads();
    a = a * 1.5 + h;
    b = b + g * 0.125;
    c = c * d + e;
    d = d - f * 0.5;
    e = e + a;
    f = f * 0.75 + b;
    g = g * 0.5 + c;
    h = h + d * 0.001;
  }
  out[threadIdx.x] = a + b + c + d + e + f + g + h;
}

// The same arithmetic without fibers in the way, for comparison.
double live_doubles_expected(unsigned t) {
  double a = t + 1.0, b = a * 0.5, c = a * 0.25, d = a * 2.0, e = a + 3.0, f = a - 1.0, g = a * a,
         h = 1.0 / a;
  for (int round = 0; round < 8; ++round) {
    a = a * 1.5 + h;
    b = b + g * 0.125;
    c = c * d + e;
    d = d - f * 0.5;
    e = e + a;
    f = f * 0.75 + b;
    g = g * 0.5 + c;
    h = h + d * 0.001;
  }
  return a + b + c + d + e + f + g + h;
}

// Atomics under contention from every thread of several blocks.
__global__ void contend(int* counter, float* fsum, int* max_seen) {
  atomicAdd(counter, 1);
  atomicAdd(fsum, 0.5f);
  atomicMax(max_seen, int(blockIdx.x * blockDim.x + threadIdx.x));
}

// Reads static and dynamic shared memory before writing it: both must be NaN in every block.
__global__ void fresh_shared(float* out) {
  __shared__ double stat[32];
  SIGNET_DYNAMIC_SHARED(float, dyn);
  out[2 * (blockIdx.x * 32 + threadIdx.x)] = float(stat[threadIdx.x]);
  out[2 * (blockIdx.x * 32 + threadIdx.x) + 1] = dyn[threadIdx.x];
  stat[threadIdx.x] = 1.0;
  dyn[threadIdx.x] = 1.0f;
}

// Planted bug: thread 0 skips the barrier, so the block can never pass it.
__global__ void divergent_barrier(int* out) {
  if (threadIdx.x != 0) __syncthreads();
  out[threadIdx.x] = 1;
}

void test_block_sum() {
  float *in, *out;
  cudaMalloc(&in, 4 * 128 * sizeof(float));
  cudaMalloc(&out, 4 * sizeof(float));
  std::vector<float> h(4 * 128);
  for (size_t i = 0; i < h.size(); ++i) h[i] = float(i % 7);
  cudaMemcpy(in, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice);
  CHECK(run(block_sum, 4, 128, 0, static_cast<const float*>(in), out) == cudaSuccess);
  const std::vector<float> r = read(out, 4);
  for (int b = 0; b < 4; ++b) {
    float want = 0;
    for (int i = 0; i < 128; ++i) want += h[b * 128 + i];
    CHECK(r[b] == want);
  }
  cudaFree(in);
  cudaFree(out);
}

void test_warp_ops() {
  int* out;
  cudaMalloc(&out, 64 * 6 * sizeof(int));
  CHECK(run(warp_ops, 1, 64, 0, out) == cudaSuccess);
  const std::vector<int> r = read(out, 64 * 6);
  for (int t = 0; t < 64; ++t) {
    const int lane = t % 32;
    const int* o = &r[t * 6];
    CHECK(o[0] == 31 * 32 / 2);
    CHECK(o[1] == (lane >= 3 ? lane - 3 : lane));
    CHECK(o[2] == (lane + 5 < 32 ? lane + 5 : lane));
    CHECK(o[3] == lane / 8 * 8 + 2);
    CHECK(unsigned(o[4]) == 0x49249249u);
    CHECK(o[5] == 20);
  }
  cudaFree(out);
}

void test_live_doubles() {
  double* out;
  cudaMalloc(&out, 96 * sizeof(double));
  CHECK(run(live_doubles, 1, 96, 0, out) == cudaSuccess);
  const std::vector<double> r = read(out, 96);
  for (unsigned t = 0; t < 96; ++t) CHECK(r[t] == live_doubles_expected(t));
  cudaFree(out);
}

void test_atomics() {
  int *counter, *max_seen;
  float* fsum;
  cudaMalloc(&counter, sizeof(int));
  cudaMalloc(&max_seen, sizeof(int));
  cudaMalloc(&fsum, sizeof(float));
  cudaMemset(counter, 0, sizeof(int));
  cudaMemset(max_seen, 0, sizeof(int));
  cudaMemset(fsum, 0, sizeof(float));
  CHECK(run(contend, 16, 64, 0, counter, fsum, max_seen) == cudaSuccess);
  CHECK(read(counter, 1)[0] == 16 * 64);
  CHECK(read(fsum, 1)[0] == 16 * 64 * 0.5f);
  CHECK(read(max_seen, 1)[0] == 16 * 64 - 1);
  cudaFree(counter);
  cudaFree(max_seen);
  cudaFree(fsum);
}

void test_fresh_shared() {
  float* out;
  const unsigned blocks = 9;
  cudaMalloc(&out, blocks * 64 * sizeof(float));
  CHECK(run(fresh_shared, blocks, 32, 32 * sizeof(float), out) == cudaSuccess);
  for (float v : read(out, blocks * 64)) CHECK(std::isnan(v));
  cudaFree(out);
}

void test_divergent_barrier() {
  int* out;
  cudaMalloc(&out, 64 * sizeof(int));
  CHECK(run(divergent_barrier, 1, 64, 0, out) == cudaErrorLaunchFailure);
  const std::string detail = simt::last_error_detail();
  CHECK(detail.find("simt_cross_check.cpp") != std::string::npos);
  CHECK(cudaGetLastError() == cudaErrorLaunchFailure);  // reading it clears it
  cudaFree(out);
}

}  // namespace
}  // namespace signet::cuda

int main() {
  using namespace signet::cuda;
  using signet::simt::Order;
  for (Order order : {Order::kForward, Order::kReverse, Order::kRandom}) {
    signet::simt::set_thread_order(order);
    test_block_sum();
    test_warp_ops();
    test_live_doubles();
    test_atomics();
    test_fresh_shared();
    test_divergent_barrier();
  }
  if (failures != 0) {
    std::printf("simt_cross_check: %d failures\n", failures);
    return 1;
  }
  std::printf("simt_cross_check: all checks passed\n");
  return 0;
}
