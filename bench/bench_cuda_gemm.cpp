// SGEMM on the cuda device: Signet's ladder (signet::cuda::gemm_v1_naive_f32 ... v6_bf16_ldmatrix)
// beside cuBLAS on the same device buffers in the same run: cublasSgemm in the default
// (fp32, no tensor-op) math mode, and cublasGemmEx on fp32 operands with
// CUBLAS_COMPUTE_32F_FAST_TF32 (tf32 tensor cores) and CUBLAS_COMPUTE_32F_FAST_16BF (bf16 tensor
// cores, fp32 accumulation: the peer of v5 and v6). Cases: the CPU GEMM cases (bench_gemm.cpp:
// 1024^3, the LSTM step, its weight gradient and the input projection, same transposes) and 4096^3.
// Each iteration is timed with CUDA events around the call (manual time); impl names carry t1 (one
// stream). Counters: GFLOP/s and TFLOP/s = 2 m n k / time; peak_frac = that over the device's peak
// for the arithmetic the impl uses (fp32 FMA for v1-v3 and cublas_sgemm, tf32 tensor cores for v4
// and cublas_tf32, bf16 tensor cores for v5, v6 and cublas_bf16), peak = SMs x clock
// (cudaDeviceGetAttribute) x the per-SM rate of the compute capability (bench/cuda_bench.cpp;
// absent for one not in its table); vs_cublas = cuBLAS's time / ours (sgemm for v1-v3, tf32 for v4,
// bf16 for v5-v6; timed once per case with 10 calls between events); max_rel_diff = max |C -
// C_sgemm| / (1 + |C_sgemm|), a check that the version computed the product on the device. On sm_90
// cuBLAS uses wgmma, which mma.sync cannot reach: there the figure is reported, not a goal. Without
// a CUDA device the program says so in one line and exits 0.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bench/cuda_bench.h"
#include "bench/gemm_cases.h"
#include "bench/harness.h"
#include "kernels/common/gemm_desc.h"
#include "kernels/cuda/gemm_naive.h"
#include "kernels/cuda/gemm_tensor_core.h"
#include "kernels/cuda/gemm_tiled.h"

namespace {

using signet::bench::DeviceBuffer;
using signet::bench::GemmCase;
using signet::bench::kGemmCases;
using signet::bench::timed;
using signet::kernels::GemmDesc;

// Measured after the products (gemm_cases.h): 4096^3.
const GemmCase k4096Case = {"4096x4096x4096", "fwd", 4096, 4096, 4096, false, false};

using Math = signet::bench::CudaMath;

// A case's descriptor and device operands, shared by every implementation; check receives
// cuBLAS sgemm's C for validating ours.
struct GemmData {
  GemmDesc d;
  DeviceBuffer a, b, c, check;
  GemmData(const GemmDesc& desc, int64_t na, int64_t nb, int64_t nc)
      : d(desc), a(na, 1u), b(nb, 2u), c(nc, 3u), check(nc, 4u) {}
};

// Builds (once) the descriptor and device inputs of case c.
GemmData& data_for(const GemmCase& c) {
  static std::map<const GemmCase*, GemmData> all;
  auto it = all.find(&c);
  if (it != all.end()) return it->second;
  const GemmDesc d = signet::kernels::row_major_gemm(c.m, c.n, c.k, c.trans_a, c.trans_b, 0.0);
  return all
      .emplace(std::piecewise_construct, std::forward_as_tuple(&c),
               std::forward_as_tuple(d, c.m * c.k, c.k * c.n, c.m * c.n))
      .first->second;
}

// The process's cuBLAS handle (default stream, default math mode).
cublasHandle_t handle() {
  static cublasHandle_t h = [] {
    cublasHandle_t created = nullptr;
    cublasCreate(&created);
    return created;
  }();
  return h;
}

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS gets B first.
cublasStatus_t cublas_gemm(const GemmData& g, Math math, float* c) {
  const float alpha = 1.0f, beta = 0.0f;
  const cublasOperation_t ta = g.d.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t tb = g.d.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int m = int(g.d.m), n = int(g.d.n), k = int(g.d.k);
  if (math == Math::kFp32)
    return cublasSgemm(handle(), tb, ta, n, m, k, &alpha, g.b.ptr, int(g.d.ldb), g.a.ptr,
                       int(g.d.lda), &beta, c, int(g.d.ldc));
  return cublasGemmEx(
      handle(), tb, ta, n, m, k, &alpha, g.b.ptr, CUDA_R_32F, int(g.d.ldb), g.a.ptr, CUDA_R_32F,
      int(g.d.lda), &beta, c, CUDA_R_32F, int(g.d.ldc),
      math == Math::kTf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F_FAST_16BF,
      CUBLAS_GEMM_DEFAULT);
}

// Seconds per call of cuBLAS (sgemm, tf32 or bf16) on case c: 10 calls between events after 3
// warm-up calls, measured once per process.
double cublas_seconds(const GemmCase& c, Math math) {
  static std::map<std::pair<const GemmCase*, Math>, double> cache;
  auto it = cache.find({&c, math});
  if (it != cache.end()) return it->second;
  GemmData& g = data_for(c);
  for (int i = 0; i < 3; ++i) cublas_gemm(g, math, g.c.ptr);
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  cudaEventRecord(start);
  for (int i = 0; i < 10; ++i) cublas_gemm(g, math, g.c.ptr);
  cudaEventRecord(stop);
  cudaEventSynchronize(stop);
  float ms = 0;
  cudaEventElapsedTime(&ms, start, stop);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return cache[{&c, math}] = double(ms) * 1e-4;
}

// Largest |ours - cuBLAS sgemm| / (1 + |cuBLAS|) over C for case c (ours in g.c, just written).
double diff_from_cublas(const GemmCase& c) {
  GemmData& g = data_for(c);
  const size_t n = size_t(c.m * c.n);
  std::vector<float> ours(n), theirs(n);
  cudaMemcpy(ours.data(), g.c.ptr, n * sizeof(float), cudaMemcpyDeviceToHost);
  cublas_gemm(g, Math::kFp32, g.check.ptr);
  cudaMemcpy(theirs.data(), g.check.ptr, n * sizeof(float), cudaMemcpyDeviceToHost);
  return signet::bench::worst_relative_gap(ours, theirs);
}

// GFLOP/s, TFLOP/s (2 m n k per iteration over the event time) and peak_frac of `math`'s peak.
void set_counters(benchmark::State& state, const GemmCase& c, Math math) {
  signet::bench::set_cuda_flop_counters(state, 2.0 * double(c.m) * double(c.n) * double(c.k), math);
}

using Version = cudaError_t (*)(const GemmDesc&, const float*, const float*, float*);

struct Rung {
  const char* impl;
  Version run;
  Math math;
};
const Rung kRungs[] = {
    {"signet_v1_naive", signet::cuda::gemm_v1_naive_f32, Math::kFp32},
    {"signet_v2_tiled", signet::cuda::gemm_v2_tiled_f32, Math::kFp32},
    {"signet_v3_register", signet::cuda::gemm_v3_register_f32, Math::kFp32},
    {"signet_v4_tf32", signet::cuda::gemm_v4_tf32_f32, Math::kTf32},
    {"signet_v5_bf16", signet::cuda::gemm_v5_bf16_f32, Math::kBf16},
    {"signet_v6_bf16_ldmatrix", signet::cuda::gemm_v6_bf16_ldmatrix_f32, Math::kBf16},
};

// One of Signet's versions on case c, with max_rel_diff (its C against cuBLAS sgemm's; the
// tensor-core versions differ by their inputs' rounding) and vs_cublas (cuBLAS's time over
// ours, against cuBLAS in the same arithmetic: sgemm, tf32 or bf16).
void bm_signet(benchmark::State& state, const GemmCase* c, const Rung* r) {
  GemmData& g = data_for(*c);
  const double ours = timed(state, [&] {
    const cudaError_t e = r->run(g.d, g.a.ptr, g.b.ptr, g.c.ptr);
    return e == cudaSuccess ? std::string() : std::string(cudaGetErrorName(e));
  });
  set_counters(state, *c, r->math);
  state.counters["max_rel_diff"] = diff_from_cublas(*c);
  if (ours > 0) state.counters["vs_cublas"] = cublas_seconds(*c, r->math) / ours;
}

// cuBLAS on case c in `math` (cublasSgemm, or cublasGemmEx with CUBLAS_COMPUTE_32F_FAST_TF32 or
// CUBLAS_COMPUTE_32F_FAST_16BF).
void bm_cublas(benchmark::State& state, const GemmCase* c, Math math) {
  GemmData& g = data_for(*c);
  timed(state, [&] {
    const cublasStatus_t s = cublas_gemm(g, math, g.c.ptr);
    return s == CUBLAS_STATUS_SUCCESS ? std::string() : std::string(cublasGetStatusString(s));
  });
  set_counters(state, *c, math);
}

// Registers one case with the harness's hygiene and event (manual) time.
template <class Fn, class... Args>
void add(const GemmCase& c, const std::string& impl, Fn fn, Args... args) {
  signet::bench::configure(
      benchmark::RegisterBenchmark(
          signet::bench::case_name("gemm", c.name, c.direction, impl, 1).c_str(), fn, &c, args...))
      ->UseManualTime();
}

// Case c: cuBLAS sgemm, tf32 and bf16 beside each of Signet's versions.
void register_case(const GemmCase& c) {
  add(c, "cublas_sgemm", bm_cublas, Math::kFp32);
  add(c, "cublas_tf32", bm_cublas, Math::kTf32);
  add(c, "cublas_bf16", bm_cublas, Math::kBf16);
  for (const Rung& r : kRungs) add(c, r.impl, bm_signet, &r);
}

// Every case.
void register_cuda_gemm_cases() {
  for (const GemmCase& c : kGemmCases) register_case(c);
  register_case(k4096Case);
}

}  // namespace

int main(int argc, char** argv) {
  return signet::bench::run_cuda_main("bench_cuda_gemm", argc, argv, register_cuda_gemm_cases);
}
