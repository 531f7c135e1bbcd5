// The machine's ceilings, measured in the same run as the cases: fp32 FMA peak per SIMD path
// and thread count, copy bandwidth on 256 MiB buffers, and how far apart two cores are (the
// round trip of a cache line between them).
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "bench/harness.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/threads.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#ifdef SIGNET_WITH_OPENMP
#include <omp.h>
#endif

namespace signet::bench {
namespace {

// FMA loop iterations per benchmark iteration (each does 16 independent vector FMAs).
constexpr int64_t kFmaIters = int64_t{1} << 21;

#if defined(__x86_64__)
// 16 independent zmm FMA chains (2 ports x 4 cycles latency needs at least 8): 512 flop/iter.
__attribute__((target("avx512f"))) float fma_chains_avx512(int64_t iters) {
  __m512 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-3f);
  for (int64_t n = 0; n < iters; ++n)
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  for (int i = 1; i < 16; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  alignas(64) float out[16];
  _mm512_store_ps(out, acc[0]);
  return out[0] + out[15];
}

// 12 independent ymm FMA chains (16 ymm registers: 12 chains + 2 constants): 192 flop/iter.
__attribute__((target("avx2,fma"))) float fma_chains_avx2(int64_t iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-3f);
  for (int64_t n = 0; n < iters; ++n)
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  for (int i = 1; i < 12; ++i) acc[0] = _mm256_add_ps(acc[0], acc[i]);
  alignas(32) float out[8];
  _mm256_store_ps(out, acc[0]);
  return out[0] + out[7];
}
#endif

// Flops one call of the path's FMA loop performs.
double fma_flops(bool avx512) {
  return static_cast<double>(kFmaIters) * (avx512 ? 16 * 16 * 2 : 12 * 8 * 2);
}

// Runs the path's FMA loop on `threads` threads at once; the sum keeps the loops alive.
float fma_on_threads(bool avx512, int threads) {
  float sum = 0;
#ifdef SIGNET_WITH_OPENMP
#pragma omp parallel num_threads(threads) reduction(+ : sum)
#else
  (void)threads;
#endif
  {
#if defined(__x86_64__)
    sum += avx512 ? fma_chains_avx512(kFmaIters) : fma_chains_avx2(kFmaIters);
#else
    (void)avx512;
#endif
  }
  return sum;
}

// ceiling/fma_<path>/tN: GFLOP/s = threads * iterations * chains * lanes * 2 / real time.
void bm_fma(benchmark::State& state, bool avx512, int threads) {
  for (auto _ : state) benchmark::DoNotOptimize(fma_on_threads(avx512, threads));
  state.counters["GFLOP/s"] = benchmark::Counter(fma_flops(avx512) * threads * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// The two 256 MiB buffers of the copy ceiling, filled once (in parallel, first touch).
struct CopyBuffers {
  static constexpr size_t kFloats = size_t{64} << 20;
  Buffer src = random_buffer(kFloats, 11), dst = random_buffer(kFloats, 12);
};

// ceiling/copy_256MiB/tN: GB/s = 2 * 256 MiB (read src + write dst) / real time; the write-
// allocate read of dst is not counted (the minimal unique bytes).
void bm_copy(benchmark::State& state, int threads) {
  static CopyBuffers bufs;
  const size_t n = CopyBuffers::kFloats;
  for (auto _ : state) {
#ifdef SIGNET_WITH_OPENMP
#pragma omp parallel num_threads(threads)
    {
      const size_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      const size_t lo = n * t / nt, hi = n * (t + 1) / nt;
      std::memcpy(bufs.dst.get() + lo, bufs.src.get() + lo, (hi - lo) * sizeof(float));
    }
#else
    (void)threads;
    std::memcpy(bufs.dst.get(), bufs.src.get(), n * sizeof(float));
#endif
    benchmark::ClobberMemory();
  }
  set_bandwidth_counter(state, 2.0 * n * sizeof(float));
}

// Pins the calling thread to the n-th CPU of `allowed`, if it has one.
void pin_to_nth(const cpu_set_t& allowed, int n) {
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed) || n-- > 0) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    return;
  }
}

// Round trips of the cache line per benchmark iteration.
constexpr int64_t kTrips = 20000;

// ceiling/line_round_trip/t2: ns per round trip of one cache line between the first two CPUs
// this process may use: this thread raises a counter to the next odd value, the other answers
// with the next even one, each waiting as the GEMM's threads wait for each other
// (wait_at_least). It says how far apart the two cores are, which on a virtual machine changes
// with where the host places its vCPUs: on the Zen 5 guest under 200 ns when both share an L3,
// 440-550 ns when they do not; threads that share packed panels pay for the second
// (bench/RESULTS.md).
void bm_line_round_trip(benchmark::State& state) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) < 2) {
    state.SkipWithError("needs two CPUs this process may run on (sched_getaffinity)");
    return;
  }
  constexpr int64_t kStop = INT64_MAX;
  alignas(64) std::atomic<int64_t> line{0};
  std::thread answer([&] {
    pin_to_nth(allowed, 1);
    for (int64_t next = 1;; next += 2) {
      cpu::wait_at_least(line, next);
      if (line.load(std::memory_order_relaxed) == kStop) return;
      line.store(next + 1, std::memory_order_release);
    }
  });
  pin_to_nth(allowed, 0);
  int64_t v = 0;
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state)
    for (int64_t i = 0; i < kTrips; ++i, v += 2) {
      line.store(v + 1, std::memory_order_release);
      cpu::wait_at_least(line, v + 2);
    }
  const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
  line.store(kStop, std::memory_order_release);
  answer.join();
  pthread_setaffinity_np(pthread_self(), sizeof allowed, &allowed);
  state.counters["round_trip_ns"] = took.count() / static_cast<double>(v / 2);
}

}  // namespace

// Times a few runs of the widest path's loop and keeps the best (the peak, not a typical run).
double fma_peak_gflops(int threads) {
  static std::mutex mu;
  static double peak[64] = {};
  std::lock_guard<std::mutex> lock(mu);
  double& p = peak[threads & 63];
  if (p > 0) return p;
  const bool avx512 = cpu::detect_simd_path() == cpu::SimdPath::avx512;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(fma_on_threads(avx512, threads));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    p = std::max(p, fma_flops(avx512) * threads * 1e-9 / s);
  }
  return p;
}

// See harness.h.
double run_fma_loop(int threads) {
  const bool avx512 = cpu::detect_simd_path() == cpu::SimdPath::avx512;
  benchmark::DoNotOptimize(fma_on_threads(avx512, threads));
  return fma_flops(avx512) * threads;
}

// One benchmark per supported FMA path and thread count, the copy bandwidth, and the round trip
// of a cache line between two cores.
void register_ceilings() {
  for (int t : thread_counts()) {
    const std::string tn = "/t" + std::to_string(t);
    if (cpu::simd_path_supported(cpu::SimdPath::avx512))
      configure(benchmark::RegisterBenchmark(("ceiling/fma_avx512" + tn).c_str(), bm_fma, true, t));
    if (cpu::simd_path_supported(cpu::SimdPath::avx2))
      configure(benchmark::RegisterBenchmark(("ceiling/fma_avx2" + tn).c_str(), bm_fma, false, t));
    configure(benchmark::RegisterBenchmark(("ceiling/copy_256MiB" + tn).c_str(), bm_copy, t));
  }
  if (thread_counts().back() > 1)
    configure(benchmark::RegisterBenchmark("ceiling/line_round_trip/t2", bm_line_round_trip));
}

}  // namespace signet::bench
