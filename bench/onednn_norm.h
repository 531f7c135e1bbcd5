// The timed loop of a oneDNN normalization peer (batch or layer norm): forward_training with
// scale and shift, and with it the backward, on memories the bench program made. Included only
// where oneDNN is found (SIGNET_BENCH_ONEDNN).
#pragma once
#include <benchmark/benchmark.h>

#include <oneapi/dnnl/dnnl.hpp>

namespace signet::bench {

// A normalization's memories: input, output and their gradients, scale and shift and their
// gradients, the saved mean and variance.
struct OnednnNormArgs {
  dnnl::memory x, y, dy, dx, scale, shift, dscale, dshift, mean, var;
};

// Runs fwd (and with `backward` bwd after it) once per iteration on strm, waiting for each.
inline void run_onednn_norm(benchmark::State& state, dnnl::stream& strm, const dnnl::primitive& fwd,
                            const dnnl::primitive& bwd, bool backward, const OnednnNormArgs& a) {
  for (auto _ : state) {
    fwd.execute(strm, {{DNNL_ARG_SRC, a.x},
                       {DNNL_ARG_DST, a.y},
                       {DNNL_ARG_SCALE, a.scale},
                       {DNNL_ARG_SHIFT, a.shift},
                       {DNNL_ARG_MEAN, a.mean},
                       {DNNL_ARG_VARIANCE, a.var}});
    if (backward)
      bwd.execute(strm, {{DNNL_ARG_SRC, a.x},
                         {DNNL_ARG_DIFF_DST, a.dy},
                         {DNNL_ARG_MEAN, a.mean},
                         {DNNL_ARG_VARIANCE, a.var},
                         {DNNL_ARG_SCALE, a.scale},
                         {DNNL_ARG_SHIFT, a.shift},
                         {DNNL_ARG_DIFF_SRC, a.dx},
                         {DNNL_ARG_DIFF_SCALE, a.dscale},
                         {DNNL_ARG_DIFF_SHIFT, a.dshift}});
    strm.wait();
    benchmark::ClobberMemory();
  }
}

}  // namespace signet::bench
