// Dropout and the Adam step: Signet's fast CPU kernels (cpu::dropout_forward_v3 as `signet`,
// cpu::dropout_forward_v2 as `signet_v2_tiled`, cpu::adam_step_v2) beside the reference kernels
// (ref::dropout_forward, ref::adam_step) on the same random inputs in the same run. There is no
// oneDNN dropout or Adam, so the reference is the baseline (impl `reference`, single-threaded by
// nature, so registered at t1 only); the ceiling to compare with is ceiling/copy_256MiB/tN of the
// same run (fraction = GB/s / its GB/s).
// Bytes per element (the minimal unique traffic, no write-allocate reads):
//   dropout fwd      8 B: read x, write y (4 B each).
//   dropout fwd_bwd 16 B: the forward, then the backward regenerating the mask from
//                         (seed, offset): read dy, write dx.
//   adam step       28 B per parameter: read p, g, m, v; write p, m, v.
//   layernorm fwd      8 B per element: read x, write y (the statistics re-read of the row, hot
//                      in L1, is not counted).
//   layernorm fwd_bwd 20 B per element: the forward, then the backward: read x and dy, write dx
//                      (the dweight/dbias pass re-reading x and dy is not counted).
// Layer norm, (32 * 20, 1024) f32 with weight and bias (a 2.6 MB tensor: cache-resident, so the
// DRAM copy ceiling is not a bound): v2 (`signet`) beside oneDNN's layer_normalization
// (forward_training, then backward with scale and shift) when oneDNN is found, and beside the
// reference (t1) in any case.
#include <cmath>
#include <string>

#include "bench/harness.h"
#include "kernels/common/dropout_desc.h"
#include "kernels/common/optim_desc.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/layer_norm.h"
#include "kernels/cpu/optim.h"
#include "kernels/reference/dropout.h"
#include "kernels/reference/layer_norm.h"
#include "kernels/reference/optim.h"

#ifdef SIGNET_BENCH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>

#include "bench/onednn_norm.h"
#endif

namespace {

using signet::bench::Buffer;
using signet::kernels::AdamDesc;
using signet::kernels::DropoutDesc;

constexpr int64_t kDropoutN = int64_t{32} << 20;  // 32M floats
constexpr int64_t kAdamN = 10000000;              // 10M parameters

// The dropout case's buffers (x, y, dy, dx), made once.
struct DropoutData {
  Buffer x = signet::bench::random_buffer(kDropoutN, 21);
  Buffer y = signet::bench::random_buffer(kDropoutN, 22);
  Buffer dy = signet::bench::random_buffer(kDropoutN, 23);
  Buffer dx = signet::bench::random_buffer(kDropoutN, 24);
};

DropoutData& dropout_data() {
  static DropoutData d;
  return d;
}

// p = 0.5 over the whole tensor at a fixed (seed, offset).
DropoutDesc dropout_desc() {
  DropoutDesc d;
  d.n = kDropoutN;
  d.p = 0.5;
  d.seed = 1234;
  d.offset = 56;
  return d;
}

// The dropout implementations compared: the reference, v2 tiled and v3 simd.
enum class DropoutImpl { reference, v2, v3 };

// One dropout pass of impl over (x, y).
void dropout_pass(DropoutImpl impl, const DropoutDesc& d, const float* x, float* y, int threads) {
  if (impl == DropoutImpl::reference)
    signet::ref::dropout_forward<float>(d, x, y);
  else if (impl == DropoutImpl::v2)
    signet::cpu::dropout_forward_v2<float>(d, x, y, threads);
  else
    signet::cpu::dropout_forward_v3<float>(d, x, y, threads);
}

// Dropout forward (and with `backward` the regenerating backward) with impl.
void bm_dropout(benchmark::State& state, DropoutImpl impl, bool backward, int threads) {
  DropoutData& b = dropout_data();
  const DropoutDesc d = dropout_desc();
  for (auto _ : state) {
    dropout_pass(impl, d, b.x.get(), b.y.get(), threads);
    if (backward) dropout_pass(impl, d, b.dy.get(), b.dx.get(), threads);
    benchmark::ClobberMemory();
  }
  signet::bench::set_bandwidth_counter(state, (backward ? 16.0 : 8.0) * kDropoutN);
}

// The Adam case's parameter, gradient and moments, made once (moments start at |x| < 1).
struct AdamData {
  Buffer p = signet::bench::random_buffer(kAdamN, 31);
  Buffer g = signet::bench::random_buffer(kAdamN, 32);
  Buffer m = signet::bench::random_buffer(kAdamN, 33);
  Buffer v = signet::bench::random_buffer(kAdamN, 34);
  AdamData() {
    for (int64_t i = 0; i < kAdamN; ++i) v[i] = v[i] * v[i];
  }
};

AdamData& adam_data() {
  static AdamData d;
  return d;
}

// Adam (torch defaults, lr 1e-3, weight decay 1e-2 coupled) at step 10.
AdamDesc adam_desc() {
  AdamDesc d;
  d.n = kAdamN;
  d.lr = 1e-3;
  d.beta1 = 0.9;
  d.beta2 = 0.999;
  d.eps = 1e-8;
  d.weight_decay = 1e-2;
  d.step_size = d.lr / (1 - std::pow(d.beta1, 10));
  d.bias_correction2_sqrt = std::sqrt(1 - std::pow(d.beta2, 10));
  return d;
}

// One Adam step over every parameter with v2 or the reference.
void bm_adam(benchmark::State& state, bool reference, int threads) {
  AdamData& b = adam_data();
  const AdamDesc d = adam_desc();
  for (auto _ : state) {
    if (reference)
      signet::ref::adam_step<float>(d, b.p.get(), b.g.get(), b.m.get(), b.v.get(), nullptr);
    else
      signet::cpu::adam_step_v2<float>(d, b.p.get(), b.g.get(), b.m.get(), b.v.get(), nullptr,
                                       threads);
    benchmark::ClobberMemory();
  }
  signet::bench::set_bandwidth_counter(state, 28.0 * kAdamN);
}

constexpr int64_t kLnRows = 32 * 20, kLnCols = 1024, kLnTotal = kLnRows * kLnCols;

// The layer norm case's buffers, made once.
struct LayerNormData {
  Buffer x = signet::bench::random_buffer(kLnTotal, 61);
  Buffer y = signet::bench::random_buffer(kLnTotal, 62);
  Buffer dy = signet::bench::random_buffer(kLnTotal, 63);
  Buffer dx = signet::bench::random_buffer(kLnTotal, 64);
  Buffer weight = signet::bench::random_buffer(kLnCols, 65);
  Buffer bias = signet::bench::random_buffer(kLnCols, 66);
  Buffer dweight = signet::bench::random_buffer(kLnCols, 67);
  Buffer dbias = signet::bench::random_buffer(kLnCols, 68);
  Buffer mean = signet::bench::random_buffer(kLnRows, 69);
  Buffer rstd = signet::bench::random_buffer(kLnRows, 70);
};

LayerNormData& layer_norm_data() {
  static LayerNormData d;
  return d;
}

// Layer norm forward (and with `backward` the backward) with v2 or the reference.
void bm_layer_norm(benchmark::State& state, bool reference, bool backward, int threads) {
  LayerNormData& b = layer_norm_data();
  const signet::kernels::LayerNormDesc d{kLnRows, kLnCols, 1e-5};
  for (auto _ : state) {
    if (reference) {
      signet::ref::layer_norm_forward<float>(d, b.x.get(), b.weight.get(), b.bias.get(), b.y.get(),
                                             b.mean.get(), b.rstd.get());
      if (backward)
        signet::ref::layer_norm_backward<float>(d, b.x.get(), b.dy.get(), b.mean.get(),
                                                b.rstd.get(), b.weight.get(), b.dx.get(),
                                                b.dweight.get(), b.dbias.get());
    } else {
      signet::cpu::layer_norm_forward_v2(d, b.x.get(), b.weight.get(), b.bias.get(), b.y.get(),
                                         b.mean.get(), b.rstd.get(), threads);
      if (backward)
        signet::cpu::layer_norm_backward_v2(d, b.x.get(), b.dy.get(), b.mean.get(), b.rstd.get(),
                                            b.weight.get(), b.dx.get(), b.dweight.get(),
                                            b.dbias.get(), threads);
    }
    benchmark::ClobberMemory();
  }
  signet::bench::set_bandwidth_counter(state, (backward ? 20.0 : 8.0) * kLnTotal);
}

#ifdef SIGNET_BENCH_ONEDNN
// oneDNN layer_normalization forward_training (and with `backward` the backward) on (rows, cols)
// f32 with scale and shift; threads set through OpenMP (oneDNN's CPU runtime here).
void bm_layer_norm_onednn(benchmark::State& state, bool backward, int threads) {
  using namespace dnnl;
  signet::bench::set_omp_threads(threads);
  LayerNormData& b = layer_norm_data();
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  const memory::desc md({kLnRows, kLnCols}, memory::data_type::f32, memory::format_tag::ab);
  const memory::desc cd({kLnCols}, memory::data_type::f32, memory::format_tag::a);
  const auto flags = normalization_flags::use_scale | normalization_flags::use_shift;
  layer_normalization_forward::primitive_desc fpd(
      layer_normalization_forward::desc(prop_kind::forward_training, md, 1e-5f, flags), eng);
  layer_normalization_backward::primitive_desc bpd(
      layer_normalization_backward::desc(prop_kind::backward, md, md, 1e-5f, flags), eng, fpd);
  layer_normalization_forward fwd(fpd);
  layer_normalization_backward bwd(bpd);
  memory x(md, eng, b.x.get()), y(md, eng, b.y.get()), dy(md, eng, b.dy.get()),
      dx(md, eng, b.dx.get()), w(cd, eng, b.weight.get()), sh(cd, eng, b.bias.get()),
      dw(cd, eng, b.dweight.get()), dsh(cd, eng, b.dbias.get()),
      mean(fpd.mean_desc(), eng, b.mean.get()), var(fpd.variance_desc(), eng, b.rstd.get());
  signet::bench::run_onednn_norm(state, strm, fwd, bwd, backward,
                                 {x, y, dy, dx, w, sh, dw, dsh, mean, var});
  signet::bench::set_bandwidth_counter(state, (backward ? 20.0 : 8.0) * kLnTotal);
}
#endif

// The layer norm cases at thread count t: v2, oneDNN, and the reference at t1.
void register_layer_norm_cases(int t) {
  for (bool backward : {false, true}) {
    const char* dir = backward ? "fwd_bwd" : "fwd";
    signet::bench::configure(benchmark::RegisterBenchmark(
        signet::bench::case_name("layernorm", "640x1024", dir, "signet", t).c_str(), bm_layer_norm,
        false, backward, t));
#ifdef SIGNET_BENCH_ONEDNN
    signet::bench::configure(benchmark::RegisterBenchmark(
        signet::bench::case_name("layernorm", "640x1024", dir, "onednn", t).c_str(),
        bm_layer_norm_onednn, backward, t));
#endif
    if (t == 1)
      signet::bench::configure(benchmark::RegisterBenchmark(
          signet::bench::case_name("layernorm", "640x1024", dir, "reference", t).c_str(),
          bm_layer_norm, true, backward, t));
  }
}

// Every case for the fast kernels at each thread count and the reference at 1 thread.
void register_norm_cases() {
  for (int t : signet::bench::thread_counts()) {
    register_layer_norm_cases(t);
    for (bool reference : {false, true}) {
      if (reference && t != 1) continue;
      const char* impl = reference ? "reference" : "signet";
      // v3 (signet, the op's default) beside v2 (signet_v2_tiled) and the reference.
      const DropoutImpl dimpls[] = {reference ? DropoutImpl::reference : DropoutImpl::v3,
                                    DropoutImpl::v2};
      for (DropoutImpl di : dimpls) {
        if (reference && di == DropoutImpl::v2) continue;
        const char* dname = di == DropoutImpl::v2 ? "signet_v2_tiled" : impl;
        for (bool backward : {false, true})
          signet::bench::configure(benchmark::RegisterBenchmark(
              signet::bench::case_name("dropout", "32M_p0.5", backward ? "fwd_bwd" : "fwd", dname,
                                       t)
                  .c_str(),
              bm_dropout, di, backward, t));
      }
      signet::bench::configure(benchmark::RegisterBenchmark(
          signet::bench::case_name("adam", "10M", "step", impl, t).c_str(), bm_adam, reference, t));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  return signet::bench::run_main(argc, argv, register_norm_cases);
}
