// SGEMM: Signet's CPU GEMM beside OpenBLAS (cblas_sgemm) and oneDNN (dnnl_sgemm) on the same
// random inputs in the same run, 1 and all threads. GFLOP/s = 2 m n k / median real time.
// Inputs are not rotated: every case is compute-bound (2 m n k / 4 (mk + kn + mn) >= 15 flop
// per byte) and the LSTM cases reuse their weights every step, as here.
// `signet` runs SIGNET_IMPL_matmul's version (unless set, the engine's choice for one product:
// v5_direct_b where sgemm_v5_suits, else v4_shared; or v3_packed, v2_blocked, v1_reference) on
// SIGNET_SIMD's path (the widest supported unless set), like the engine's matmul;
// SIGNET_BENCH_GEMM_ALSO=<version> runs a second version beside it, named `signet_<version>`
// (compare lists it as a peer: its ratio is the default's speed-up over it). `pair_onednn`
// alternates `signet` and oneDNN call by call and reports the median of their time ratios
// (harness run_paired), and `pair_openblas` does the same with OpenBLAS in a run with both
// thread pools asleep between calls (SIGNET_BENCH_POOLS_ASLEEP=1; `./run.sh bench` makes that run
// too, bench_gemm_pools_asleep.json); `pair_peak` alternates `signet` and the FMA ceiling's loop
// and reports the median fraction of the peak over the pairs (harness run_paired_peak), and
// `sgemm/microkernel/fwd/pair_peak` does the same for the micro-kernel alone (about how far a
// product of the run could get). OpenBLAS reads OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE when it loads,
// so the harness re-executes the program with OPENBLAS_L2_SIZE unset and the core pinned to
// OpenBLAS's AVX-512 kernels (its own detection picks Prescott on the Xeon bench machine; an AMD
// Zen 5 guest sets OPENBLAS_CORETYPE=Haswell in its environment); the context's openblas_env and
// openblas_core say so.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "bench/gemm_cases.h"
#include "bench/harness.h"
#include "kernels/common/gemm_desc.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_microkernels.h"
#include "kernels/reference/gemm.h"

#ifdef SIGNET_WITH_OPENMP
#include <omp.h>
#endif
#ifdef SIGNET_BENCH_OPENBLAS
#include <cblas.h>
#endif
#ifdef SIGNET_BENCH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

namespace {

using signet::bench::Buffer;
using signet::bench::GemmCase;
using signet::bench::kGemmCases;
using signet::kernels::GemmDesc;

// A case's descriptor and its random inputs, shared by every implementation.
struct GemmData {
  GemmDesc d;
  Buffer a, b, c;
};

// Builds (once) the descriptor and inputs of case c.
GemmData& data_for(const GemmCase& c) {
  static std::map<const GemmCase*, GemmData> all;
  auto it = all.find(&c);
  if (it != all.end()) return it->second;
  const GemmDesc d = signet::kernels::row_major_gemm(c.m, c.n, c.k, c.trans_a, c.trans_b, 0.0);
  GemmData g{d, signet::bench::random_buffer(c.m * c.k, 1),
             signet::bench::random_buffer(c.k * c.n, 2),
             signet::bench::random_buffer(c.m * c.n, 3)};
  return all.emplace(&c, std::move(g)).first->second;
}

// The version `signet` runs: SIGNET_IMPL_matmul, or "" for the engine's choice (signet_choice).
std::string signet_version() {
  const char* v = std::getenv("SIGNET_IMPL_matmul");
  return v && *v ? v : "";
}

// The version the engine's matmul runs for d (one product) when none is forced.
std::string signet_choice(const GemmDesc& d) {
  return signet::cpu::sgemm_v5_suits(d, signet::cpu::active_simd_path()) ? "v5_direct_b"
                                                                         : "v4_shared";
}

// The version SIGNET_BENCH_GEMM_ALSO names (run beside `signet` as `signet_<version>`), or "".
std::string also_version() {
  const char* v = std::getenv("SIGNET_BENCH_GEMM_ALSO");
  return v ? v : "";
}

// Bytes of workspace for every version of Signet's GEMM on d with `threads` threads.
size_t workspace_bytes(const GemmDesc& d, int threads) {
  return std::max({signet::cpu::sgemm_workspace_bytes(d, threads),
                   signet::cpu::sgemm_v4_workspace_bytes(d, threads),
                   signet::cpu::sgemm_v5_workspace_bytes(d, threads)});
}

// C of g = A B with Signet's GEMM `version` (v1_reference, v2_blocked, v3_packed, v4_shared,
// v4_own_columns (v4 with every thread on its own columns whatever the shape), v4_cached_b and
// v4_streamed_b (v4 with the stores of its shared B blocks forced), v5_direct_b; "" for the
// engine's choice).
void run_signet(const std::string& version, GemmData& g, float* c, void* ws, int threads) {
  const signet::cpu::SimdPath path = signet::cpu::active_simd_path();
  if (version.empty())
    run_signet(signet_choice(g.d), g, c, ws, threads);
  else if (version == "v2_blocked")
    signet::cpu::sgemm_v2_blocked(g.d, g.a.get(), g.b.get(), c, threads);
  else if (version == "v1_reference")
    signet::ref::gemm<float>(g.d, g.a.get(), g.b.get(), c);
  else if (version == "v3_packed")
    signet::cpu::sgemm_v3_packed(g.d, g.a.get(), g.b.get(), c, ws, threads, path);
  else if (version == "v4_own_columns")
    signet::cpu::sgemm_v4_shared(g.d, g.a.get(), g.b.get(), c, ws, threads, path,
                                 signet::cpu::V4Split::own_columns);
  else if (version == "v4_cached_b" || version == "v4_streamed_b")
    signet::cpu::sgemm_v4_shared(
        g.d, g.a.get(), g.b.get(), c, ws, threads, path, signet::cpu::V4Split::by_rule,
        version == "v4_cached_b" ? signet::cpu::BStores::cached : signet::cpu::BStores::streamed);
  else if (version == "v5_direct_b")
    signet::cpu::sgemm_v5_direct_b(g.d, g.a.get(), g.b.get(), c, ws, threads, path);
  else
    signet::cpu::sgemm_v4_shared(g.d, g.a.get(), g.b.get(), c, ws, threads, path);
}

// Whether `version` names one of the versions run_signet runs.
bool known_version(const std::string& version) {
  return version == "v1_reference" || version == "v2_blocked" || version == "v3_packed" ||
         version == "v4_shared" || version == "v4_own_columns" || version == "v4_cached_b" ||
         version == "v4_streamed_b" || version == "v5_direct_b";
}

// Signet's GEMM `version` on `threads` threads.
void bm_signet(benchmark::State& state, const GemmCase* c, int threads, std::string version) {
  GemmData& g = data_for(*c);
  auto ws = signet::bench::raw_buffer(workspace_bytes(g.d, threads));
  for (auto _ : state) {
    run_signet(version, g, g.c.get(), ws.get(), threads);
    benchmark::ClobberMemory();
  }
  signet::bench::set_flop_counters(state, 2.0 * c->m * c->n * c->k, threads);
}

// `signet` and the FMA ceiling's loop alternated call by call (harness run_paired_peak): the
// fraction of the peak with the peak measured beside every call.
void bm_pair_peak(benchmark::State& state, const GemmCase* c, int threads) {
  GemmData& g = data_for(*c);
  auto ws = signet::bench::raw_buffer(workspace_bytes(g.d, threads));
  signet::bench::set_omp_threads(threads);
  signet::bench::run_paired_peak(
      state, [&] { run_signet(signet_version(), g, g.c.get(), ws.get(), threads); },
      2.0 * c->m * c->n * c->k, threads);
}

// The active path's v4 micro-kernel alone on every thread, as v4's macro-kernel runs it on one
// row chunk (each KC x NR sliver of a ~1 MiB B block against the chunk's A slivers, 96 rows; C
// the chunk's rows, a few ms a call, so that starting the threads costs nothing), without
// packing or the rest of a product, alternated call by call with the FMA loop
// (harness run_paired_peak): the fraction of the peak the GEMM's inner loop itself reaches at
// that moment. On this VM it fell to 0.66-0.76 in noisy periods (bench/RESULTS.md) while the FMA
// loop's rate stayed put: the host's noise slows code that loads its operands (even from L1),
// not the register-only loop. Measured seconds apart from the products, it is a guide, not a
// bound: 1024^3 read 86-109% of it in the rounds of 2026-12-01 (Xeon), 87-96% on 2026-12-02
// (Zen 5), when it ran the 12 x 32 tile with A's sliver held and B streamed (v4's order then).
void bm_microkernel_pair_peak(benchmark::State& state, int threads) {
  namespace gd = signet::cpu::gemm_detail;
  const gd::Blocking bl = gd::wide_blocking_for(signet::cpu::active_simd_path());
  const int64_t slivers = (int64_t{1} << 18) / (int64_t{bl.nr} * bl.kc), passes = 16;
  const int64_t a_slivers = signet::cpu::kV4MaxChunkRows / bl.mr, ldc = slivers * bl.nr;
  struct Operands {
    Buffer a, b, c;
  };
  std::vector<Operands> ops;
  for (int t = 0; t < threads; ++t)
    ops.push_back({signet::bench::random_buffer(a_slivers * bl.mr * bl.kc, 10 + t),
                   signet::bench::random_buffer(slivers * bl.nr * bl.kc, 20 + t),
                   signet::bench::random_buffer(a_slivers * bl.mr * ldc, 30 + t)});
  signet::bench::set_omp_threads(threads);
  auto run = [&] {
#ifdef SIGNET_WITH_OPENMP
#pragma omp parallel num_threads(threads)
#endif
    {
#ifdef SIGNET_WITH_OPENMP
      Operands& o = ops[omp_get_thread_num()];
#else
      Operands& o = ops[0];
#endif
      for (int64_t p = 0; p < passes; ++p)
        for (int64_t j = 0; j < slivers; ++j)
          for (int64_t i = 0; i < a_slivers; ++i)
            bl.kernel(bl.kc, o.a.get() + i * bl.mr * bl.kc, o.b.get() + j * bl.nr * bl.kc,
                      o.c.get() + i * bl.mr * ldc + j * bl.nr, ldc, 1.0f, 1.0f);
    }
  };
  signet::bench::run_paired_peak(
      state, run, 2.0 * bl.mr * bl.nr * bl.kc * slivers * a_slivers * passes * threads, threads);
}

#ifdef SIGNET_BENCH_OPENBLAS
// C of g = A B (into c) with cblas_sgemm, row-major, on OpenBLAS's current thread count.
void call_openblas(const GemmCase& c, GemmData& g, float* out) {
  cblas_sgemm(CblasRowMajor, c.trans_a ? CblasTrans : CblasNoTrans,
              c.trans_b ? CblasTrans : CblasNoTrans, c.m, c.n, c.k, 1.0f, g.a.get(), g.d.lda,
              g.b.get(), g.d.ldb, 0.0f, out, g.d.ldc);
}

// cblas_sgemm with openblas_set_num_threads(threads).
void bm_openblas(benchmark::State& state, const GemmCase* c, int threads) {
  GemmData& g = data_for(*c);
  openblas_set_num_threads(threads);
  for (auto _ : state) {
    call_openblas(*c, g, g.c.get());
    benchmark::ClobberMemory();
  }
  signet::bench::set_flop_counters(state, 2.0 * c->m * c->n * c->k, threads);
}
#endif

#ifdef SIGNET_BENCH_OPENBLAS
// Ours (signet_version()) and OpenBLAS alternated call by call (harness run_paired), registered
// only when both pools sleep between calls (harness pools_asleep): with their default waits,
// OpenBLAS's pthreads and OpenMP's workers each spin on the cores after a call while the other
// library runs (on the Xeon, 1024^3 and the input projection paired 1.21-1.63, the same two
// timed apart 0.93-1.09 in the same runs).
void bm_pair_openblas(benchmark::State& state, const GemmCase* c, int threads) {
  GemmData& g = data_for(*c);
  auto ws = signet::bench::raw_buffer(workspace_bytes(g.d, threads));
  signet::bench::set_omp_threads(threads);
  openblas_set_num_threads(threads);
  signet::bench::run_paired(
      state, [&] { run_signet(signet_version(), g, g.c.get(), ws.get(), threads); },
      [&] { call_openblas(*c, g, g.c.get()); });
}
#endif

#ifdef SIGNET_BENCH_ONEDNN
// C of g = A B (into c) with dnnl_sgemm (row-major) on OpenMP's current thread count.
void call_onednn(const GemmCase& c, GemmData& g, float* out) {
  dnnl_sgemm(c.trans_a ? 'T' : 'N', c.trans_b ? 'T' : 'N', c.m, c.n, c.k, 1.0f, g.a.get(), g.d.lda,
             g.b.get(), g.d.ldb, 0.0f, out, g.d.ldc);
}

// dnnl_sgemm, threads set through OpenMP (oneDNN's CPU runtime here).
void bm_onednn(benchmark::State& state, const GemmCase* c, int threads) {
  GemmData& g = data_for(*c);
  signet::bench::set_omp_threads(threads);
  for (auto _ : state) {
    call_onednn(*c, g, g.c.get());
    benchmark::ClobberMemory();
  }
  signet::bench::set_flop_counters(state, 2.0 * c->m * c->n * c->k, threads);
}
#endif

#ifdef SIGNET_BENCH_ONEDNN
// Ours (signet_version()) and oneDNN alternated call by call (harness run_paired), both on
// `threads` OpenMP threads (one pool: neither waits for the other's workers).
void bm_pair_onednn(benchmark::State& state, const GemmCase* c, int threads) {
  GemmData& g = data_for(*c);
  auto ws = signet::bench::raw_buffer(workspace_bytes(g.d, threads));
  signet::bench::set_omp_threads(threads);
  signet::bench::run_paired(
      state, [&] { run_signet(signet_version(), g, g.c.get(), ws.get(), threads); },
      [&] { call_onednn(*c, g, g.c.get()); });
}
#endif

#ifdef SIGNET_BENCH_ONEDNN
// The name of the instruction set oneDNN dispatches to (its dnnl_cpu_isa_t spelling).
std::string onednn_isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_avx2:
      return "avx2";
    case dnnl_cpu_isa_avx512_core:
      return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "dnnl_cpu_isa_t " + std::to_string(static_cast<int>(isa));
  }
}
#endif

// Largest |x - y| / (1 + |y|) between two m x n results.
double max_rel_diff(const float* x, const float* y, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; ++i)
    worst = std::max(worst, std::fabs(double{x[i]} - y[i]) / (1 + std::fabs(double{y[i]})));
  return worst;
}

// Runs ours (signet_version() or the engine's choice, on all threads) and each peer once per case
// and records their largest difference in the context, so a fast wrong answer cannot pass
// unnoticed.
void check_agreement() {
  const int threads = signet::bench::thread_counts().back();
  for (const GemmCase& c : kGemmCases) {
    GemmData& g = data_for(c);
    const size_t n = c.m * c.n;
    auto ws = signet::bench::raw_buffer(workspace_bytes(g.d, threads));
    Buffer ours = signet::bench::random_buffer(n, 4), peer = signet::bench::random_buffer(n, 5);
    run_signet(signet_version(), g, ours.get(), ws.get(), threads);
    std::string note;
#ifdef SIGNET_BENCH_OPENBLAS
    call_openblas(c, g, peer.get());
    note += "openblas " + std::to_string(max_rel_diff(ours.get(), peer.get(), n)) + " ";
#endif
#ifdef SIGNET_BENCH_ONEDNN
    call_onednn(c, g, peer.get());
    note += "onednn " + std::to_string(max_rel_diff(ours.get(), peer.get(), n));
#endif
    benchmark::AddCustomContext(std::string("max_rel_diff/") + c.name,
                                note.empty() ? "no peer" : note);
  }
}

// Every case for ours and each peer found at build time, thread counts 1 and all.
void register_gemm_cases() {
  for (const std::string& v : {signet_version(), also_version()})
    if (!v.empty() && !known_version(v)) {
      std::fprintf(stderr, "bench_gemm: unknown GEMM version '%s'\n", v.c_str());
      std::exit(2);
    }
  check_agreement();
  benchmark::AddCustomContext("signet_version", signet_version().empty()
                                                    ? "engine's choice (signet_version/<case>)"
                                                    : signet_version());
  for (const GemmCase& c : kGemmCases)
    benchmark::AddCustomContext(
        std::string("signet_version/") + c.name,
        signet_version().empty() ? signet_choice(data_for(c).d) : signet_version());
#ifdef SIGNET_BENCH_OPENBLAS
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
  benchmark::AddCustomContext("openblas_config", openblas_get_config());
#else
  std::fprintf(stderr, "bench_gemm: built without OpenBLAS (libopenblas-dev); peer skipped\n");
#endif
#ifdef SIGNET_BENCH_ONEDNN
  const dnnl_version_t* v = dnnl_version();
  benchmark::AddCustomContext(
      "onednn_version",
      std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  benchmark::AddCustomContext("onednn_isa", onednn_isa_name(dnnl_get_effective_cpu_isa()));
#else
  std::fprintf(stderr, "bench_gemm: built without oneDNN (libdnnl-dev); peer skipped\n");
#endif
  for (int t : signet::bench::thread_counts()) {
    signet::bench::configure(benchmark::RegisterBenchmark(
        signet::bench::case_name("sgemm", "microkernel", "fwd", "pair_peak", t).c_str(),
        bm_microkernel_pair_peak, t));
    for (const GemmCase& c : kGemmCases) {
      auto name = [&](const char* impl) {
        return signet::bench::case_name("sgemm", c.name, c.direction, impl, t);
      };
      signet::bench::configure(
          benchmark::RegisterBenchmark(name("signet").c_str(), bm_signet, &c, t, signet_version()));
      signet::bench::configure(
          benchmark::RegisterBenchmark(name("pair_peak").c_str(), bm_pair_peak, &c, t));
      if (!also_version().empty())
        signet::bench::configure(benchmark::RegisterBenchmark(
            name(("signet_" + also_version()).c_str()).c_str(), bm_signet, &c, t, also_version()));
#ifdef SIGNET_BENCH_OPENBLAS
      signet::bench::configure(
          benchmark::RegisterBenchmark(name("openblas").c_str(), bm_openblas, &c, t));
      if (signet::bench::pools_asleep())
        signet::bench::configure(
            benchmark::RegisterBenchmark(name("pair_openblas").c_str(), bm_pair_openblas, &c, t));
#endif
#ifdef SIGNET_BENCH_ONEDNN
      signet::bench::configure(
          benchmark::RegisterBenchmark(name("onednn").c_str(), bm_onednn, &c, t));
      signet::bench::configure(
          benchmark::RegisterBenchmark(name("pair_onednn").c_str(), bm_pair_onednn, &c, t));
#endif
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  return signet::bench::run_main(argc, argv, register_gemm_cases);
}
