// The CPU elementwise kernels of the sign_cnn training step: relu forward and backward on the
// conv1 output of a batch of 64 (64 x 32 x 26 x 26 f32), relu on it after its max-pool
// (64 x 32 x 13 x 13: what sign_cnn runs now), and the transposed copy of the fc1 weight gradient
// ((1600, 128) read as its transpose). v2/v3 (`signet`) beside the reference kernels
// (`reference`, single-threaded by nature, so t1 only) on the same inputs in the same run; there
// is no linkable PyTorch, so the reference is the baseline and ceiling/copy_256MiB/tN the bound.
// Bytes per element (minimal unique traffic, no write-allocate reads):
//   relu fwd     8 B: read x, write y.
//   relu bwd    12 B: read dy and x, write dx.
//   copy t       8 B: read a, write out.
#include <memory>
#include <string>

#include "bench/harness.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/threads.h"
#include "kernels/reference/elementwise.h"

namespace {

using signet::kernels::BinaryOp;
using signet::kernels::StridedDesc;
using signet::kernels::UnaryOp;

constexpr int64_t kConv1 = 64 * 32 * 26 * 26, kPooled = 64 * 32 * 13 * 13;
constexpr int64_t kRows = 1600, kCols = 128;

// n floats in [-1, 1) from a fixed linear congruential sequence.
std::unique_ptr<float[]> filled(int64_t n, uint32_t seed) {
  std::unique_ptr<float[]> p(new float[static_cast<size_t>(n)]);
  for (int64_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    p[static_cast<size_t>(i)] = static_cast<float>(seed >> 8) / float(1 << 23) - 1.0f;
  }
  return p;
}

// A one-dimensional contiguous iteration space of n elements (all three operands).
StridedDesc flat_desc(int64_t n) {
  StridedDesc d;
  d.ndim = 1;
  d.shape[0] = n;
  for (auto& s : d.stride) s[0] = 1;
  return d;
}

// relu forward (backward: relu_backward) over n elements with v2 or the reference.
void bm_relu(benchmark::State& state, int64_t n, bool backward, bool reference, int threads) {
  signet::bench::set_omp_threads(threads);
  auto x = filled(n, 1), dy = filled(n, 2), out = filled(n, 3);
  const StridedDesc d = flat_desc(n);
  signet::cpu::FlatLayout l;
  signet::cpu::flat_layout(d, 2, &l);
  const auto path = signet::cpu::active_simd_path();
  for (auto _ : state) {
    if (backward && reference)
      signet::ref::binary<float>(BinaryOp::relu_backward, {}, d, dy.get(), x.get(), out.get());
    else if (backward)
      signet::cpu::binary_v2<float>(BinaryOp::relu_backward, {}, l, dy.get(), x.get(), out.get(),
                                    threads, path);
    else if (reference)
      signet::ref::unary<float>(UnaryOp::relu, {}, d, x.get(), out.get());
    else
      signet::cpu::unary_v2<float>(UnaryOp::relu, {}, l, x.get(), out.get(), threads, path);
    benchmark::ClobberMemory();
  }
  signet::bench::set_bandwidth_counter(state, (backward ? 12.0 : 8.0) * static_cast<double>(n));
}

// The contiguous (kCols, kRows) copy of a (kRows, kCols) buffer's transpose with v3 or the
// reference.
void bm_copy_transposed(benchmark::State& state, bool reference, int threads) {
  signet::bench::set_omp_threads(threads);
  auto a = filled(kRows * kCols, 4), out = filled(kRows * kCols, 5);
  StridedDesc d;
  d.ndim = 2;
  d.shape[0] = kCols;
  d.shape[1] = kRows;
  d.stride[0][0] = kRows;
  d.stride[0][1] = 1;
  d.stride[1][0] = 1;
  d.stride[1][1] = kCols;
  signet::cpu::TransposeLayout l;
  signet::cpu::transpose_layout(d, &l);
  for (auto _ : state) {
    if (reference)
      signet::ref::cast<float, float>(d, a.get(), out.get());
    else
      signet::cpu::copy_tiled_v3<float>(l, a.get(), out.get(), threads);
    benchmark::ClobberMemory();
  }
  signet::bench::set_bandwidth_counter(state, 8.0 * kRows * kCols);
}

// Every case at each thread count (the reference at t1 only).
void register_elementwise_cases() {
  for (int t : signet::bench::thread_counts())
    for (bool reference : {false, true}) {
      if (reference && t != 1) continue;
      const char* impl = reference ? "reference" : "signet";
      for (bool backward : {false, true}) {
        const char* dir = backward ? "bwd" : "fwd";
        signet::bench::configure(benchmark::RegisterBenchmark(
            signet::bench::case_name("relu", "64x32x26x26", dir, impl, t).c_str(), bm_relu, kConv1,
            backward, reference, t));
        signet::bench::configure(benchmark::RegisterBenchmark(
            signet::bench::case_name("relu", "64x32x13x13", dir, impl, t).c_str(), bm_relu, kPooled,
            backward, reference, t));
      }
      signet::bench::configure(benchmark::RegisterBenchmark(
          signet::bench::case_name("copy", "1600x128_t", "fwd", impl, t).c_str(),
          bm_copy_transposed, reference, t));
    }
}

}  // namespace

int main(int argc, char** argv) {
  return signet::bench::run_main(argc, argv, register_elementwise_cases);
}
