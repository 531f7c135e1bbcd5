// Batch norm, BatchNorm2d (32, 64, 56, 56) f32 NCHW in training mode: Signet's channel-fused CPU
// kernels (cpu::batch_norm_forward_train_v2, cpu::batch_norm_backward_v2) beside oneDNN's
// batch_normalization (forward_training, then backward with scale and shift) on the same
// buffers in the same run. The ceiling to compare with is ceiling/copy_256MiB/tN of the same
// run (fraction = GB/s / its GB/s).
// Bytes per iteration (T = the tensor's bytes, 25.7 MB; the minimal unique traffic):
//   fwd      2 T: read x, write y. The statistics pass re-reads x (mostly from L2 in ours: each
//               channel is normalised right after its statistics); it is not counted.
//   fwd_bwd  5 T: the forward (x, y), then the backward: read dy and x, write dx.
#include <cstdio>
#include <string>

#include "bench/harness.h"
#include "kernels/common/norm_desc.h"
#include "kernels/cpu/batch_norm.h"
#include "kernels/cpu/cpu_features.h"

#ifdef SIGNET_BENCH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>

#include "bench/onednn_norm.h"
#endif

namespace {

using signet::bench::Buffer;
using signet::kernels::BatchNormDesc;

constexpr int64_t kN = 32, kC = 64, kH = 56, kW = 56;
constexpr int64_t kTotal = kN * kC * kH * kW;

// The buffers of the case (x, y, dy, dx and the per-channel vectors), made once.
struct Data {
  Buffer x = signet::bench::random_buffer(kTotal, 41);
  Buffer y = signet::bench::random_buffer(kTotal, 42);
  Buffer dy = signet::bench::random_buffer(kTotal, 43);
  Buffer dx = signet::bench::random_buffer(kTotal, 44);
  Buffer weight = signet::bench::random_buffer(kC, 45);
  Buffer bias = signet::bench::random_buffer(kC, 46);
  Buffer mean = signet::bench::random_buffer(kC, 47);
  Buffer var = signet::bench::random_buffer(kC, 48);
  Buffer invstd = signet::bench::random_buffer(kC, 49);
  Buffer dweight = signet::bench::random_buffer(kC, 50);
  Buffer dbias = signet::bench::random_buffer(kC, 51);
};

Data& data() {
  static Data d;
  return d;
}

// Training forward (and with `backward` the fused backward) with Signet's v2 kernels.
void bm_signet(benchmark::State& state, bool backward, int threads) {
  Data& b = data();
  const BatchNormDesc d{kN, kC, kH * kW, 1e-5};
  const signet::cpu::SimdPath path = signet::cpu::active_simd_path();
  for (auto _ : state) {
    signet::cpu::batch_norm_forward_train_v2(d, b.x.get(), b.weight.get(), b.bias.get(), b.y.get(),
                                             b.mean.get(), b.var.get(), b.invstd.get(), threads,
                                             path);
    if (backward)
      signet::cpu::batch_norm_backward_v2(d, b.x.get(), b.dy.get(), b.mean.get(), b.invstd.get(),
                                          b.weight.get(), true, b.dx.get(), b.dweight.get(),
                                          b.dbias.get(), threads, path);
    benchmark::ClobberMemory();
  }
  signet::bench::set_bandwidth_counter(state, (backward ? 5.0 : 2.0) * kTotal * sizeof(float));
}

#ifdef SIGNET_BENCH_ONEDNN
// oneDNN forward_training (and with `backward` the backward) on nchw f32 with scale and shift;
// threads set through OpenMP (oneDNN's CPU runtime here).
void bm_onednn(benchmark::State& state, bool backward, int threads) {
  using namespace dnnl;
  signet::bench::set_omp_threads(threads);
  Data& b = data();
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  const memory::desc md({kN, kC, kH, kW}, memory::data_type::f32, memory::format_tag::nchw);
  const memory::desc cd({kC}, memory::data_type::f32, memory::format_tag::x);
  const auto flags = normalization_flags::use_scale | normalization_flags::use_shift;
  batch_normalization_forward::primitive_desc fpd(
      batch_normalization_forward::desc(prop_kind::forward_training, md, 1e-5f, flags), eng);
  batch_normalization_backward::primitive_desc bpd(
      batch_normalization_backward::desc(prop_kind::backward, md, md, 1e-5f, flags), eng, fpd);
  batch_normalization_forward fwd(fpd);
  batch_normalization_backward bwd(bpd);
  memory x(md, eng, b.x.get()), y(md, eng, b.y.get()), dy(md, eng, b.dy.get()),
      dx(md, eng, b.dx.get()), w(cd, eng, b.weight.get()), sh(cd, eng, b.bias.get()),
      mean(cd, eng, b.mean.get()), var(cd, eng, b.var.get()), dw(cd, eng, b.dweight.get()),
      dsh(cd, eng, b.dbias.get());
  signet::bench::run_onednn_norm(state, strm, fwd, bwd, backward,
                                 {x, y, dy, dx, w, sh, dw, dsh, mean, var});
  signet::bench::set_bandwidth_counter(state, (backward ? 5.0 : 2.0) * kTotal * sizeof(float));
}
#endif

// fwd and fwd_bwd for Signet and oneDNN at each thread count.
void register_batchnorm_cases() {
#ifndef SIGNET_BENCH_ONEDNN
  std::fprintf(stderr, "bench_batchnorm: built without oneDNN (libdnnl-dev); peer skipped\n");
#endif
  for (int t : signet::bench::thread_counts())
    for (bool backward : {false, true}) {
      const char* dir = backward ? "fwd_bwd" : "fwd";
      signet::bench::configure(benchmark::RegisterBenchmark(
          signet::bench::case_name("batchnorm", "2d_32x64x56x56_train", dir, "signet", t).c_str(),
          bm_signet, backward, t));
#ifdef SIGNET_BENCH_ONEDNN
      signet::bench::configure(benchmark::RegisterBenchmark(
          signet::bench::case_name("batchnorm", "2d_32x64x56x56_train", dir, "onednn", t).c_str(),
          bm_onednn, backward, t));
#endif
    }
}

}  // namespace

int main(int argc, char** argv) {
  return signet::bench::run_main(argc, argv, register_batchnorm_cases);
}
