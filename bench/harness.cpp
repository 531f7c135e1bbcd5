// Harness: buffers, names, counters and the shared main() (see harness.h).
#include "bench/harness.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "kernels/cpu/cpu_features.h"

#ifdef SIGNET_WITH_OPENMP
#include <omp.h>
#endif

namespace signet::bench {
namespace {

// Set (to what was changed) across the re-exec, so the new process can say so in its context.
constexpr const char* kEnvNote = "SIGNET_BENCH_OPENBLAS_ENV_CHANGED";

// The settings that put each pool to sleep as soon as a call ends: libgomp's workers (instead of
// spinning for a while) and OpenBLAS's pthreads (after 2^4 cycles instead of 2^28).
constexpr const char* kOmpWait[2] = {"OMP_WAIT_POLICY", "passive"};
constexpr const char* kOpenblasTimeout[2] = {"OPENBLAS_THREAD_TIMEOUT", "4"};

// OpenBLAS's own kernel for this CPU's widest path. OpenBLAS 0.3.21 (Debian 12) does not know
// newer Xeons (lscpu model 207) and falls back to Prescott (SSE3) on its own, and some machines
// set OPENBLAS_CORETYPE=Haswell in the environment (an AMD EPYC Zen 5 guest, where OpenBLAS's own
// pick is Cooperlake, 1.7-1.9x Haswell's rate on 1024^3), so the peer is pinned to the core whose
// kernels match the CPU: Cooperlake (AVX-512 + BF16), SkylakeX, Haswell.
const char* best_openblas_core() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (cpu::simd_path_supported(cpu::SimdPath::avx512))
    return __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
  if (cpu::simd_path_supported(cpu::SimdPath::avx2)) return "Haswell";
#endif
  return nullptr;
}

// This process's scheduling policy as "SCHED_OTHER" or "SCHED_FIFO <priority>": a run under
// `chrt -f` is not interleaved with the machine's other processes, and its JSON says so.
std::string scheduler_name() {
  const int policy = sched_getscheduler(0);
  sched_param param{};
  sched_getparam(0, &param);
  if (policy == SCHED_FIFO) return "SCHED_FIFO " + std::to_string(param.sched_priority);
  if (policy == SCHED_RR) return "SCHED_RR " + std::to_string(param.sched_priority);
  return "SCHED_OTHER";
}

// Whether environment variable `name` is set to `value`.
bool env_is(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v && std::strcmp(v, value) == 0;
}

// Sets OMP_WAIT_POLICY=passive and OPENBLAS_THREAD_TIMEOUT=4 where they differ (both are read
// when the libraries load), noting each change in `changed`.
void request_sleeping_pools(std::string& changed) {
  for (const char* const* kv : {kOmpWait, kOpenblasTimeout}) {
    if (env_is(kv[0], kv[1])) continue;
    changed += std::string(kv[0]) + "=" + kv[1] + "; ";
    setenv(kv[0], kv[1], 1);
  }
}

// Re-executes this program with OpenBLAS at its best for this CPU: OPENBLAS_L2_SIZE unset and
// OPENBLAS_CORETYPE set to best_openblas_core() (OpenBLAS reads both when it loads, before
// main); with SIGNET_BENCH_POOLS_ASLEEP=1 also with both thread pools asleep between calls
// (pools_asleep). SIGNET_BENCH_KEEP_OPENBLAS_ENV=1 keeps the environment as it is.
void reexec_with_best_openblas(char** argv) {
  if (env_is("SIGNET_BENCH_KEEP_OPENBLAS_ENV", "1")) return;
  std::string changed;
  if (env_is("SIGNET_BENCH_POOLS_ASLEEP", "1")) request_sleeping_pools(changed);
  if (const char* l2 = std::getenv("OPENBLAS_L2_SIZE")) {
    changed += std::string("unset OPENBLAS_L2_SIZE=") + l2 + "; ";
    unsetenv("OPENBLAS_L2_SIZE");
  }
  const char* core = best_openblas_core();
  const char* now = std::getenv("OPENBLAS_CORETYPE");
  if (core && (!now || std::strcmp(now, core) != 0)) {
    changed += std::string("OPENBLAS_CORETYPE=") + core + " (was " + (now ? now : "unset") + ")";
    setenv("OPENBLAS_CORETYPE", core, 1);
  } else if (!core && now) {
    changed += std::string("unset OPENBLAS_CORETYPE=") + now;
    unsetenv("OPENBLAS_CORETYPE");
  }
  if (changed.empty()) return;
  std::fprintf(stderr, "bench: for the peers: %s; re-executing\n", changed.c_str());
  setenv(kEnvNote, changed.c_str(), 1);
  execv("/proc/self/exe", argv);
  std::perror("bench: re-exec failed; OpenBLAS keeps its environment");
}

// Adds `flag` to the arguments unless one starting with its "--name=" is already there.
void default_flag(std::vector<char*>& args, const char* flag) {
  const size_t name_len = std::strchr(flag, '=') - flag + 1;
  for (char* a : args)
    if (std::strncmp(a, flag, name_len) == 0) return;
  args.push_back(const_cast<char*>(flag));
}

}  // namespace

// A counter-based generator (splitmix64): fast enough for 256 MiB, never all zeros.
Buffer random_buffer(size_t n, uint32_t seed) {
  const size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  Buffer buf(static_cast<float*>(std::aligned_alloc(64, bytes)), std::free);
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    buf[i] = static_cast<float>((z ^ (z >> 31)) >> 40) * (2.0f / 16777216.0f) - 1.0f;
  }
  return buf;
}

// aligned_alloc needs a multiple of the alignment.
std::unique_ptr<unsigned char[], void (*)(void*)> raw_buffer(size_t bytes) {
  return {static_cast<unsigned char*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)), std::free};
}

// Joins the parts with '/'.
std::string case_name(const std::string& op, const std::string& cas, const std::string& direction,
                      const std::string& impl, int threads) {
  return op + "/" + cas + "/" + direction + "/" + impl + "/t" + std::to_string(threads);
}

// 1 and every core (just 1 on a one-core machine).
std::vector<int> thread_counts() {
  const int all = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return all > 1 ? std::vector<int>{1, all} : std::vector<int>{1};
}

// Warm-up of 0.2 s before the measured repetitions.
benchmark::internal::Benchmark* configure(benchmark::internal::Benchmark* b) {
  return b->UseRealTime()->MinWarmUpTime(0.2)->Unit(benchmark::kMillisecond);
}

// Both counters are rates over real time, so the reported medians divide by the median time.
void set_flop_counters(benchmark::State& state, double flops_per_iteration, int threads) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_frac"] =
      benchmark::Counter(flops_per_iteration * 1e-9 / fma_peak_gflops(threads),
                         benchmark::Counter::kIsIterationInvariantRate);
}

// See harness.h.
void set_bandwidth_counter(benchmark::State& state, double bytes_per_iteration) {
  state.counters["GB/s"] =
      benchmark::Counter(bytes_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

namespace {

// Runs ours and other once each per iteration, in alternating order, and returns the pairs of
// times (ours, other) in seconds.
std::vector<std::pair<double, double>> paired_times(benchmark::State& state,
                                                    const std::function<void()>& ours,
                                                    const std::function<void()>& other) {
  using Clock = std::chrono::steady_clock;
  auto timed = [](const std::function<void()>& fn) {
    const Clock::time_point start = Clock::now();
    fn();
    benchmark::ClobberMemory();
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  std::vector<std::pair<double, double>> times;
  for (auto _ : state) {
    const bool ours_first = times.size() % 2 == 0;
    const double first = timed(ours_first ? ours : other);
    const double second = timed(ours_first ? other : ours);
    times.emplace_back(ours_first ? first : second, ours_first ? second : first);
  }
  return times;
}

// Sets counters <name> (the median of values), <prefix>_q1 and <prefix>_q3 (its quartiles).
void set_median_counters(benchmark::State& state, std::vector<double> values,
                         const std::string& name, const std::string& prefix) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  if (n == 0) return;
  state.counters[name] = values[n / 2];
  state.counters[prefix + "_q1"] = values[n / 4];
  state.counters[prefix + "_q3"] = values[3 * n / 4];
}

}  // namespace

// See harness.h.
void run_paired(benchmark::State& state, const std::function<void()>& ours,
                const std::function<void()>& peer) {
  std::vector<double> ratios;
  for (const auto& [our_t, peer_t] : paired_times(state, ours, peer))
    ratios.push_back(peer_t / our_t);
  set_median_counters(state, ratios, "pair_ratio", "pair");
}

// See harness.h.
void run_paired_peak(benchmark::State& state, const std::function<void()>& ours,
                     double flops_per_call, int threads) {
  double loop_flops = 0;
  std::vector<double> fractions;
  for (const auto& [our_t, loop_t] :
       paired_times(state, ours, [&] { loop_flops = run_fma_loop(threads); }))
    fractions.push_back((flops_per_call / our_t) / (loop_flops / loop_t));
  set_median_counters(state, fractions, "pair_peak_frac", "pair_peak");
}

// See harness.h.
bool pools_asleep() {
  return env_is(kOmpWait[0], kOmpWait[1]) && env_is(kOpenblasTimeout[0], kOpenblasTimeout[1]);
}

// See harness.h.
void set_omp_threads(int threads) {
#ifdef SIGNET_WITH_OPENMP
  omp_set_num_threads(threads);
#else
  (void)threads;
#endif
}

int run_main(int argc, char** argv, void (*register_cases)()) {
  reexec_with_best_openblas(argv);
  std::vector<char*> args(argv, argv + argc);
  default_flag(args, "--benchmark_repetitions=5");
  default_flag(args, "--benchmark_enable_random_interleaving=true");
  default_flag(args, "--benchmark_display_aggregates_only=true");
  default_flag(args, "--benchmark_min_time=0.2");
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  const char* changed = std::getenv(kEnvNote);
  benchmark::AddCustomContext("openblas_env", changed ? changed : "unchanged");
  benchmark::AddCustomContext("simd_path", cpu::simd_path_name(cpu::active_simd_path()));
  benchmark::AddCustomContext("scheduler", scheduler_name());
  benchmark::AddCustomContext("thread_pools",
                              pools_asleep() ? "asleep between calls (OMP_WAIT_POLICY=passive, "
                                               "OPENBLAS_THREAD_TIMEOUT=4)"
                                             : "as the environment sets them");
  register_ceilings();
  register_cases();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace signet::bench
