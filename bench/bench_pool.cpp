// Pooling, sign_cnn's 2x2 stride-2 max pooling on f32 NCHW (64, 32, 28, 28) and (64, 64, 14, 14):
// Signet's v2 CPU kernels (cpu::max_pool_forward_v2, cpu::max_pool_backward_v2) beside oneDNN's
// pooling (forward_training with its workspace, then backward) on the same buffers in the same
// run, and beside the reference kernels at t1. The ceiling to compare with is
// ceiling/copy_256MiB/tN of the same run (fraction = GB/s / its GB/s).
// Bytes per iteration (X = input elements, Y = output elements = X / 4; the minimal unique
// traffic of Signet's kernels, counted the same for oneDNN whose workspace is smaller):
//   fwd      4 X + 4 Y + 8 Y: read x, write y and the i64 indices.
//   fwd_bwd  the forward, then 4 Y + 8 Y + 4 X: read dy and the indices, write dx.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/harness.h"
#include "kernels/common/pool_desc.h"
#include "kernels/cpu/pool.h"
#include "kernels/reference/pool.h"

#ifdef SIGNET_BENCH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace {

using signet::bench::Buffer;
using signet::kernels::PoolDesc;

// One case: (n, c, h, w), pooled 2x2 with stride 2.
struct PoolCase {
  int64_t n, c, h, w;
  int64_t in() const { return n * c * h * w; }
  int64_t out() const { return n * c * (h / 2) * (w / 2); }
  std::string name() const {
    return std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(h) + "x" +
           std::to_string(w) + "_max2x2";
  }
};

const PoolCase kCases[] = {{64, 32, 28, 28}, {64, 64, 14, 14}};

// The descriptor of a case.
PoolDesc desc_of(const PoolCase& c) {
  PoolDesc d;
  d.planes = c.n * c.c;
  d.in[1] = c.h;
  d.in[2] = c.w;
  d.out[1] = c.h / 2;
  d.out[2] = c.w / 2;
  d.kernel[1] = d.kernel[2] = 2;
  d.stride[1] = d.stride[2] = 2;
  return d;
}

// The buffers of one case (x, y, dy, dx, indices), made once per case.
struct Data {
  Buffer x, y, dy, dx;
  std::vector<int64_t> idx;
  explicit Data(const PoolCase& c)
      : x(signet::bench::random_buffer(c.in(), 81)),
        y(signet::bench::random_buffer(c.out(), 82)),
        dy(signet::bench::random_buffer(c.out(), 83)),
        dx(signet::bench::random_buffer(c.in(), 84)),
        idx(c.out()) {}
};

Data& data(int k) {
  static Data d0(kCases[0]), d1(kCases[1]);
  return k == 0 ? d0 : d1;
}

// The bytes of one iteration (see the file comment).
double bytes_of(const PoolCase& c, bool backward) {
  const double fwd = 4.0 * c.in() + 12.0 * c.out();
  return backward ? fwd + 12.0 * c.out() + 4.0 * c.in() : fwd;
}

// Max pooling forward (and with `backward` the backward) with v2 or the reference.
void bm_signet(benchmark::State& state, int k, bool reference, bool backward, int threads) {
  Data& b = data(k);
  const PoolDesc d = desc_of(kCases[k]);
  for (auto _ : state) {
    if (reference) {
      signet::ref::max_pool_forward<float>(d, b.x.get(), b.y.get(), b.idx.data());
      if (backward) signet::ref::max_pool_backward<float>(d, b.dy.get(), b.idx.data(), b.dx.get());
    } else {
      signet::cpu::max_pool_forward_v2<float>(d, b.x.get(), b.y.get(), b.idx.data(), threads);
      if (backward)
        signet::cpu::max_pool_backward_v2<float>(d, b.dy.get(), b.idx.data(), b.dx.get(), threads);
    }
    benchmark::ClobberMemory();
  }
  signet::bench::set_bandwidth_counter(state, bytes_of(kCases[k], backward));
}

#ifdef SIGNET_BENCH_ONEDNN
// oneDNN max pooling forward_training (with its workspace) and backward on nchw f32; threads
// set through OpenMP (oneDNN's CPU runtime here).
void bm_onednn(benchmark::State& state, int k, bool backward, int threads) {
  using namespace dnnl;
  signet::bench::set_omp_threads(threads);
  const PoolCase& c = kCases[k];
  Data& b = data(k);
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  const memory::desc src({c.n, c.c, c.h, c.w}, memory::data_type::f32, memory::format_tag::nchw);
  const memory::desc dst({c.n, c.c, c.h / 2, c.w / 2}, memory::data_type::f32,
                         memory::format_tag::nchw);
  const memory::dims strides{2, 2}, kernel{2, 2}, pad{0, 0};
  pooling_forward::primitive_desc fpd(
      pooling_forward::desc(prop_kind::forward_training, algorithm::pooling_max, src, dst, strides,
                            kernel, pad, pad),
      eng);
  pooling_backward::primitive_desc bpd(
      pooling_backward::desc(algorithm::pooling_max, src, dst, strides, kernel, pad, pad), eng,
      fpd);
  pooling_forward fwd(fpd);
  pooling_backward bwd(bpd);
  memory x(src, eng, b.x.get()), y(dst, eng, b.y.get()), dy(dst, eng, b.dy.get()),
      dx(src, eng, b.dx.get()), ws(fpd.workspace_desc(), eng);
  for (auto _ : state) {
    fwd.execute(strm, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}, {DNNL_ARG_WORKSPACE, ws}});
    if (backward)
      bwd.execute(strm,
                  {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, dx}, {DNNL_ARG_WORKSPACE, ws}});
    strm.wait();
    benchmark::ClobberMemory();
  }
  signet::bench::set_bandwidth_counter(state, bytes_of(c, backward));
}
#endif

// fwd and fwd_bwd of each case for v2 and oneDNN at each thread count, the reference at t1.
void register_pool_cases() {
#ifndef SIGNET_BENCH_ONEDNN
  std::fprintf(stderr, "bench_pool: built without oneDNN (libdnnl-dev); peer skipped\n");
#endif
  for (int t : signet::bench::thread_counts())
    for (int k = 0; k < 2; ++k)
      for (bool backward : {false, true}) {
        const std::string cas = kCases[k].name();
        const char* dir = backward ? "fwd_bwd" : "fwd";
        signet::bench::configure(benchmark::RegisterBenchmark(
            signet::bench::case_name("maxpool", cas, dir, "signet", t).c_str(), bm_signet, k, false,
            backward, t));
#ifdef SIGNET_BENCH_ONEDNN
        signet::bench::configure(benchmark::RegisterBenchmark(
            signet::bench::case_name("maxpool", cas, dir, "onednn", t).c_str(), bm_onednn, k,
            backward, t));
#endif
        if (t == 1)
          signet::bench::configure(benchmark::RegisterBenchmark(
              signet::bench::case_name("maxpool", cas, dir, "reference", t).c_str(), bm_signet, k,
              true, backward, t));
      }
}

}  // namespace

int main(int argc, char** argv) {
  return signet::bench::run_main(argc, argv, register_pool_cases);
}
