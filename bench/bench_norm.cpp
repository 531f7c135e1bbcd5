// Dropout and the Adam step: Signet's fast CPU kernels (cpu::dropout_forward_v2,
// cpu::adam_step_v2) beside the reference kernels (ref::dropout_forward, ref::adam_step) on the
// same random inputs in the same run. There is no oneDNN dropout or Adam, so the reference is the
// baseline (impl `reference`, single-threaded by nature, so registered at t1 only); the ceiling to
// compare with is ceiling/copy_256MiB/tN of the same run (fraction = GB/s / its GB/s).
// Bytes per element (the minimal unique traffic, no write-allocate reads):
//   dropout fwd      8 B: read x, write y (4 B each).
//   dropout fwd_bwd 16 B: the forward, then the backward regenerating the mask from
//                         (seed, offset): read dy, write dx.
//   adam step       28 B per parameter: read p, g, m, v; write p, m, v.
#include <cmath>
#include <string>

#include "bench/harness.h"
#include "kernels/common/dropout_desc.h"
#include "kernels/common/optim_desc.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/optim.h"
#include "kernels/reference/dropout.h"
#include "kernels/reference/optim.h"

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

// Dropout forward (and with `backward` the regenerating backward) with v2 or the reference.
void bm_dropout(benchmark::State& state, bool reference, bool backward, int threads) {
  DropoutData& b = dropout_data();
  const DropoutDesc d = dropout_desc();
  for (auto _ : state) {
    if (reference) {
      signet::ref::dropout_forward<float>(d, b.x.get(), b.y.get());
      if (backward) signet::ref::dropout_forward<float>(d, b.dy.get(), b.dx.get());
    } else {
      signet::cpu::dropout_forward_v2<float>(d, b.x.get(), b.y.get(), threads);
      if (backward) signet::cpu::dropout_forward_v2<float>(d, b.dy.get(), b.dx.get(), threads);
    }
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

// Every case for v2 at each thread count and the reference at 1 thread.
void register_norm_cases() {
  for (int t : signet::bench::thread_counts()) {
    for (bool reference : {false, true}) {
      if (reference && t != 1) continue;
      const char* impl = reference ? "reference" : "signet";
      signet::bench::configure(benchmark::RegisterBenchmark(
          signet::bench::case_name("dropout", "32M_p0.5", "fwd", impl, t).c_str(), bm_dropout,
          reference, false, t));
      signet::bench::configure(benchmark::RegisterBenchmark(
          signet::bench::case_name("dropout", "32M_p0.5", "fwd_bwd", impl, t).c_str(), bm_dropout,
          reference, true, t));
      signet::bench::configure(benchmark::RegisterBenchmark(
          signet::bench::case_name("adam", "10M", "step", impl, t).c_str(), bm_adam, reference, t));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  return signet::bench::run_main(argc, argv, register_norm_cases);
}
