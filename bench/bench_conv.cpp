// Convolution, the cases A-E and sign_cnn's layers A64/B64 (padding 1, stride 1, with
// bias), forward, backward-data and backward-weights: Signet's selected f32 CPU version
// (cpu::conv_select; impl `signet`, and every fitting version by name, `signet_v2_im2col` ...)
// beside oneDNN on the same buffers in the same run:
//   onednn          oneDNN from NCHW/OIHW: the reorders into the layouts it picks (format any) and
//                   back are inside the timing, the same contract as ours (the gating peer).
//   onednn_blocked  oneDNN on its own layouts, reorders outside the timing (a goal for later).
//   pair_onednn     the selected version and `onednn` alternated call by call (harness
//                   run_paired): the median and quartiles of the per-call ratio peer / ours.
// GFLOP/s = 2 N K C R S P Q / time (R S = taps, P Q = output positions; kD too in 3-D), the same
// count for every pass; peak_frac = that over ceiling/fma_avx512/tN of the same run.
// ws_per_thread (signet only) = the version's workspace bytes for the case / threads.
// First-layer backward-data (A, E) is never needed in training and is not registered.
// Before the cases run, the selected version and oneDNN compute every case once and the largest
// |ours - oneDNN| / (1 + |oneDNN|) goes into the JSON context (max_rel_diff/<case>/<pass>).
// A full run: bench_conv --benchmark_repetitions=3 (about 2.5 minutes on a quiet machine).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench/conv_cases.h"
#include "bench/harness.h"
#include "bench/onednn_conv.h"
#include "kernels/common/conv_desc.h"
#include "kernels/cpu/conv_select.h"
#include "kernels/cpu/cpu_features.h"

namespace {

using signet::bench::Buffer;
using signet::bench::conv_desc_of;
using signet::bench::conv_flops;
using signet::bench::ConvCase;
using signet::bench::kConvCases;
using signet::bench::kConvLstmConvCases;
using signet::bench::kSignCnnConvCases;
using signet::cpu::ConvPass;
using signet::cpu::ConvVersion;
using signet::kernels::ConvDesc;

const char* const kPassNames[] = {"fwd", "bwd_data", "bwd_weights"};

// The cases A-E, then sign_cnn's and the ConvLSTM's.
std::vector<const ConvCase*> all_cases() {
  std::vector<const ConvCase*> out;
  for (const ConvCase& c : kConvCases) out.push_back(&c);
  for (const ConvCase& c : kSignCnnConvCases) out.push_back(&c);
  for (const ConvCase& c : kConvLstmConvCases) out.push_back(&c);
  return out;
}

// Signet's version v for one pass of a case on `threads` threads, with its workspace.
struct SignetPass {
  SignetPass(const ConvCase& c, int pass, ConvVersion version, int threads_)
      : d(conv_desc_of(c)),
        b(signet::bench::conv_data_for(c)),
        p(static_cast<ConvPass>(pass)),
        v(version),
        threads(threads_),
        ws_bytes(signet::cpu::conv_version_workspace_bytes(v, d, p, threads)),
        ws(signet::bench::raw_buffer(ws_bytes)),
        path(signet::cpu::active_simd_path()) {}
  // One call of the pass.
  void run() {
    if (p == ConvPass::forward)
      signet::cpu::conv_run_forward(v, d, b.x.get(), b.w.get(), b.b.get(), b.y.get(), ws.get(),
                                    threads, path);
    else if (p == ConvPass::backward_data)
      signet::cpu::conv_run_backward_data(v, d, b.dy.get(), b.w.get(), b.dx.get(), ws.get(),
                                          threads, path);
    else
      signet::cpu::conv_run_backward_weights(v, d, b.x.get(), b.dy.get(), b.dw.get(), b.db.get(),
                                             ws.get(), threads, path);
  }
  ConvDesc d;
  signet::bench::ConvData& b;
  ConvPass p;
  ConvVersion v;
  int threads;
  size_t ws_bytes;
  std::unique_ptr<unsigned char[], void (*)(void*)> ws;
  signet::cpu::SimdPath path;
};

// One pass of Signet's version v on `threads` threads.
void bm_signet(benchmark::State& state, const ConvCase* c, int pass, ConvVersion v, int threads) {
  SignetPass ours(*c, pass, v, threads);
  for (auto _ : state) {
    ours.run();
    benchmark::ClobberMemory();
  }
  signet::bench::set_flop_counters(state, conv_flops(ours.d), threads);
  state.counters["ws_per_thread"] = static_cast<double>(ours.ws_bytes) / threads;
  state.SetLabel(signet::cpu::conv_version_name(v));
}

#ifdef SIGNET_BENCH_ONEDNN
// oneDNN's pass on a case; `inside` puts the reorders from and to NCHW/OIHW inside the timing.
void bm_onednn(benchmark::State& state, const ConvCase* c, int pass, bool inside, int threads) {
  signet::bench::set_omp_threads(threads);
  signet::bench::OnednnConvPass op(*c, pass);
  op.run(true);
  for (auto _ : state) {
    op.run(inside);
    benchmark::ClobberMemory();
  }
  signet::bench::set_flop_counters(state, conv_flops(conv_desc_of(*c)), threads);
}

// The selected version and oneDNN from NCHW alternated call by call (harness run_paired), both on
// `threads` OpenMP threads: the median of the per-call ratios oneDNN time / our time.
void bm_pair_onednn(benchmark::State& state, const ConvCase* c, int pass, ConvVersion v,
                    int threads) {
  signet::bench::set_omp_threads(threads);
  SignetPass ours(*c, pass, v, threads);
  signet::bench::OnednnConvPass peer(*c, pass);
  peer.run(true);
  signet::bench::run_paired(
      state, [&] { ours.run(); }, [&] { peer.run(true); });
  state.SetLabel(signet::cpu::conv_version_name(v));
}

// Largest |x - y| / (1 + |y|) over n values.
double max_rel_diff(const float* x, const float* y, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; ++i)
    worst = std::max(worst, std::fabs(double{x[i]} - y[i]) / (1 + std::fabs(double{y[i]})));
  return worst;
}

// Runs Signet's selected version and oneDNN once per case and pass and records the largest
// difference of their outputs in the context, so a fast wrong answer cannot pass unnoticed.
void check_agreement() {
  for (const ConvCase* cp : all_cases())
    for (int pass = 0; pass < 3; ++pass) {
      const ConvCase& c = *cp;
      if (pass == 1 && c.first_layer) continue;
      const ConvDesc d = conv_desc_of(c);
      signet::bench::ConvData& b = signet::bench::conv_data_for(c);
      const ConvPass p = static_cast<ConvPass>(pass);
      const ConvVersion v = signet::cpu::conv_select(d, p);
      auto ws = signet::bench::raw_buffer(signet::cpu::conv_version_workspace_bytes(v, d, p, 2));
      const signet::cpu::SimdPath path = signet::cpu::active_simd_path();
      float* out = pass == 0 ? b.y.get() : pass == 1 ? b.dx.get() : b.dw.get();
      const size_t n = pass == 0 ? b.ny : pass == 1 ? b.nx : b.nw;
      if (p == ConvPass::forward)
        signet::cpu::conv_run_forward(v, d, b.x.get(), b.w.get(), b.b.get(), out, ws.get(), 2,
                                      path);
      else if (p == ConvPass::backward_data)
        signet::cpu::conv_run_backward_data(v, d, b.dy.get(), b.w.get(), out, ws.get(), 2, path);
      else
        signet::cpu::conv_run_backward_weights(v, d, b.x.get(), b.dy.get(), out, b.db.get(),
                                               ws.get(), 2, path);
      const std::vector<float> ours(out, out + n);
      signet::bench::OnednnConvPass(c, pass).run(true);
      benchmark::AddCustomContext(std::string("max_rel_diff/") + c.name + "/" + kPassNames[pass],
                                  std::to_string(max_rel_diff(ours.data(), out, n)));
    }
}
#endif

// Every case, pass and thread count for the selected version, every other fitting version
// (v2 and up) and the oneDNN peers.
void register_conv_cases() {
#ifdef SIGNET_BENCH_ONEDNN
  const dnnl_version_t* v = dnnl_version();
  benchmark::AddCustomContext(
      "onednn_version",
      std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  check_agreement();
#else
  std::fprintf(stderr, "bench_conv: built without oneDNN (libdnnl-dev); peers skipped\n");
#endif
  for (const ConvCase* cp : all_cases())
    for (int pass = 0; pass < 3; ++pass) {
      const ConvCase& c = *cp;
      if (pass == 1 && c.first_layer) continue;
      const ConvDesc d = conv_desc_of(c);
      const ConvPass p = static_cast<ConvPass>(pass);
      for (int t : signet::bench::thread_counts()) {
        auto name = [&](const std::string& impl) {
          return signet::bench::case_name("conv", c.name, kPassNames[pass], impl, t);
        };
        const ConvVersion chosen = signet::cpu::conv_select(d, p);
        signet::bench::configure(
            benchmark::RegisterBenchmark(name("signet").c_str(), bm_signet, &c, pass, chosen, t));
        for (ConvVersion v :
             {ConvVersion::v4_small_c, ConvVersion::v3_direct, ConvVersion::v2_im2col}) {
          if (v == chosen || !signet::cpu::conv_version_fits(v, d, p)) continue;
          signet::bench::configure(benchmark::RegisterBenchmark(
              name(std::string("signet_") + signet::cpu::conv_version_name(v)).c_str(), bm_signet,
              &c, pass, v, t));
        }
#ifdef SIGNET_BENCH_ONEDNN
        signet::bench::configure(
            benchmark::RegisterBenchmark(name("onednn").c_str(), bm_onednn, &c, pass, true, t));
        signet::bench::configure(benchmark::RegisterBenchmark(name("onednn_blocked").c_str(),
                                                              bm_onednn, &c, pass, false, t));
        signet::bench::configure(benchmark::RegisterBenchmark(name("pair_onednn").c_str(),
                                                              bm_pair_onednn, &c, pass, chosen, t));
#endif
      }
    }
}

}  // namespace

int main(int argc, char** argv) {
  return signet::bench::run_main(argc, argv, register_conv_cases);
}
