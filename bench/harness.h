// The benchmark harness shared by bench_*.cpp: names, hygiene, counters, ceilings and main().
// Names are op/case/direction/impl/tN; thread counts are set explicitly per implementation and
// never through benchmark's ->Threads(n); every case uses real time, a warm-up and repetitions
// (medians reported), on random inputs.
#pragma once
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace signet::bench {

// A 64-byte aligned float buffer.
using Buffer = std::unique_ptr<float[], void (*)(void*)>;

// n floats uniform in [-1, 1) (never zeros) from seed, 64-byte aligned.
Buffer random_buffer(size_t n, uint32_t seed);

// n uninitialised bytes, 64-byte aligned (a kernel workspace).
std::unique_ptr<unsigned char[], void (*)(void*)> raw_buffer(size_t bytes);

// "op/case/direction/impl/tN".
std::string case_name(const std::string& op, const std::string& cas, const std::string& direction,
                      const std::string& impl, int threads);

// The thread counts every case runs with: 1 and all of the machine's cores.
std::vector<int> thread_counts();

// The machine's fp32 FMA peak in GFLOP/s on its widest SIMD path with `threads` threads,
// measured once per process (the same measurement as the ceiling/fma_* benchmarks).
double fma_peak_gflops(int threads);

// Adds the hygiene every case shares: real time, warm-up, milliseconds.
benchmark::internal::Benchmark* configure(benchmark::internal::Benchmark* b);

// Sets the GFLOP/s counter (flops per iteration over real time) and peak_frac (of
// fma_peak_gflops(threads)).
void set_flop_counters(benchmark::State& state, double flops_per_iteration, int threads);

// Sets the GB/s counter: bytes per iteration over real time (compare divides it by the copy
// ceiling of the same run).
void set_bandwidth_counter(benchmark::State& state, double bytes_per_iteration);

// A paired case (impl `pair_<peer>`): every iteration runs ours and the peer once each, in
// alternating order, and the counters give the median (pair_ratio) and quartiles (pair_q1,
// pair_q3) over the iterations of peer time / our time. Two calls milliseconds apart see the same
// host, so this ratio holds where the ratio of two separately timed medians moves by 15-30% with
// the host (bench/RESULTS.md); `bench/compare` prints it beside the medians.
void run_paired(benchmark::State& state, const std::function<void()>& ours,
                const std::function<void()>& peer);

// A case paired with the FMA ceiling (impl `pair_peak`): every iteration runs ours (flops_per_call
// flops) and the widest path's FMA loop on `threads` threads (run_fma_loop) once each, in
// alternating order; pair_peak_frac is the median over the iterations of our GFLOP/s over the
// loop's GFLOP/s of the same pair (pair_peak_q1, pair_peak_q3 its quartiles): the fraction of
// the peak with the peak measured beside every call, not minutes apart.
void run_paired_peak(benchmark::State& state, const std::function<void()>& ours,
                     double flops_per_call, int threads);

// Runs the widest SIMD path's FMA loop (the ceiling/fma_* kernel) once on `threads` threads at
// once and returns the flops it performed.
double run_fma_loop(int threads);

// Whether both thread pools sleep as soon as a call ends (OMP_WAIT_POLICY=passive and
// OPENBLAS_THREAD_TIMEOUT=4, which SIGNET_BENCH_POOLS_ASLEEP=1 makes run_main set): only then
// can ours and OpenBLAS alternate call by call, since otherwise each call shares the cores with
// the other library's workers, still spinning from the call before.
bool pools_asleep();

// Sets the OpenMP thread count (the engine's and oneDNN's CPU runtime); nothing without OpenMP.
void set_omp_threads(int threads);

// Registers the ceilings (FMA peak on AVX-512 and AVX2, copy bandwidth on 256 MiB buffers).
void register_ceilings();

// The main() of every bench program: re-executes with OpenBLAS pinned to its kernels for this
// CPU (and with both pools asleep under SIGNET_BENCH_POOLS_ASLEEP=1; see harness.cpp), adds the
// default flags (5 repetitions, random interleaving, aggregates on the console), registers the
// ceilings and the program's cases (register_cases), notes the context and runs.
int run_main(int argc, char** argv, void (*register_cases)());

}  // namespace signet::bench
