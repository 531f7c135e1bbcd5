// The buffers of a convolution case and oneDNN's pass on them, shared by bench_conv.cpp and
// bench_rnn.cpp (which pairs the ConvLSTM with oneDNN's case C).
#pragma once
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "bench/conv_cases.h"
#include "bench/harness.h"

#ifdef SIGNET_BENCH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace signet::bench {

// The buffers of one case, made on first use and kept.
struct ConvData {
  explicit ConvData(const kernels::ConvDesc& d)
      : nx(d.n * d.c * kernels::conv_in_volume(d)),
        ny(d.n * d.k * kernels::conv_out_volume(d)),
        nw(d.k * d.c * kernels::conv_kernel_volume(d)),
        x(random_buffer(nx, 1)),
        w(random_buffer(nw, 2)),
        b(random_buffer(d.k, 3)),
        y(random_buffer(ny, 4)),
        dy(random_buffer(ny, 5)),
        dx(random_buffer(nx, 6)),
        dw(random_buffer(nw, 7)),
        db(random_buffer(d.k, 8)) {}
  size_t nx, ny, nw;
  Buffer x, w, b, y, dy, dx, dw, db;
};

// The buffers of case c (made once).
inline ConvData& conv_data_for(const ConvCase& c) {
  static std::map<const ConvCase*, std::unique_ptr<ConvData>> all;
  std::unique_ptr<ConvData>& d = all[&c];
  if (!d) d = std::make_unique<ConvData>(conv_desc_of(c));
  return *d;
}

#ifdef SIGNET_BENCH_ONEDNN
// A reorder from `from` to `to` (nothing to do when the layouts are equal).
struct OnednnMove {
  OnednnMove(dnnl::engine& eng, const dnnl::memory& from, const dnnl::memory::desc& to_md)
      : src(from), dst(to_md == from.get_desc() ? from : dnnl::memory(to_md, eng)) {
    if (dst.get_data_handle() != src.get_data_handle()) prim = dnnl::reorder(src, dst);
  }
  OnednnMove(dnnl::engine& eng, const dnnl::memory::desc& from_md, const dnnl::memory& to)
      : src(from_md == to.get_desc() ? to : dnnl::memory(from_md, eng)), dst(to) {
    if (dst.get_data_handle() != src.get_data_handle()) prim = dnnl::reorder(src, dst);
  }
  void run(dnnl::stream& s) {
    if (prim) prim.execute(s, src, dst);
  }
  dnnl::memory src, dst;
  dnnl::reorder prim;
};

// oneDNN's primitive for one pass of a case, on the case's buffers, with its reorders from and to
// NCHW/OIHW (made once).
struct OnednnConvPass {
  OnednnConvPass(const ConvCase& c, int pass) : eng(dnnl::engine::kind::cpu, 0), strm(eng) {
    const kernels::ConvDesc d = conv_desc_of(c);
    ConvData& b = conv_data_for(c);
    const auto dt = dnnl::memory::data_type::f32;
    const bool is3 = c.dims == 3;
    const auto act = is3 ? dnnl::memory::format_tag::ncdhw : dnnl::memory::format_tag::nchw;
    const auto wtag = is3 ? dnnl::memory::format_tag::oidhw : dnnl::memory::format_tag::oihw;
    dnnl::memory::dims xs{d.n, d.c}, ys{d.n, d.k}, ws{d.k, d.c}, one, zero, pad;
    for (int s = 3 - c.dims; s < 3; ++s) {
      xs.push_back(d.in[s]), ys.push_back(d.out[s]), ws.push_back(d.kernel[s]);
      one.push_back(1), zero.push_back(0), pad.push_back(1);
    }
    const dnnl::memory::desc x_any(xs, dt, dnnl::memory::format_tag::any),
        y_any(ys, dt, dnnl::memory::format_tag::any), w_any(ws, dt, dnnl::memory::format_tag::any),
        b_md({d.k}, dt, dnnl::memory::format_tag::x);
    const dnnl::memory::desc x_md(xs, dt, act), y_md(ys, dt, act), w_md(ws, dt, wtag);
    dnnl::convolution_forward::primitive_desc fpd(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                        dnnl::algorithm::convolution_direct, x_any, w_any, b_md,
                                        y_any, one, zero, pad, pad),
        eng);
    if (pass == 0) {
      in.emplace_back(eng, dnnl::memory(x_md, eng, b.x.get()), fpd.src_desc());
      in.emplace_back(eng, dnnl::memory(w_md, eng, b.w.get()), fpd.weights_desc());
      out.emplace_back(eng, fpd.dst_desc(), dnnl::memory(y_md, eng, b.y.get()));
      conv = dnnl::convolution_forward(fpd);
      args = {{DNNL_ARG_SRC, in[0].dst},
              {DNNL_ARG_WEIGHTS, in[1].dst},
              {DNNL_ARG_BIAS, dnnl::memory(b_md, eng, b.b.get())},
              {DNNL_ARG_DST, out[0].src}};
    } else if (pass == 1) {
      dnnl::convolution_backward_data::primitive_desc bpd(
          dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, x_any, w_any,
                                                y_any, one, zero, pad, pad),
          eng, fpd);
      in.emplace_back(eng, dnnl::memory(y_md, eng, b.dy.get()), bpd.diff_dst_desc());
      in.emplace_back(eng, dnnl::memory(w_md, eng, b.w.get()), bpd.weights_desc());
      out.emplace_back(eng, bpd.diff_src_desc(), dnnl::memory(x_md, eng, b.dx.get()));
      conv = dnnl::convolution_backward_data(bpd);
      args = {{DNNL_ARG_DIFF_DST, in[0].dst},
              {DNNL_ARG_WEIGHTS, in[1].dst},
              {DNNL_ARG_DIFF_SRC, out[0].src}};
    } else {
      dnnl::convolution_backward_weights::primitive_desc bpd(
          dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, x_any,
                                                   w_any, b_md, y_any, one, zero, pad, pad),
          eng, fpd);
      in.emplace_back(eng, dnnl::memory(x_md, eng, b.x.get()), bpd.src_desc());
      in.emplace_back(eng, dnnl::memory(y_md, eng, b.dy.get()), bpd.diff_dst_desc());
      out.emplace_back(eng, bpd.diff_weights_desc(), dnnl::memory(w_md, eng, b.dw.get()));
      conv = dnnl::convolution_backward_weights(bpd);
      args = {{DNNL_ARG_SRC, in[0].dst},
              {DNNL_ARG_DIFF_DST, in[1].dst},
              {DNNL_ARG_DIFF_WEIGHTS, out[0].src},
              {DNNL_ARG_DIFF_BIAS, dnnl::memory(b_md, eng, b.db.get())}};
    }
  }
  // The reorders in, the convolution and the reorders out (only the convolution unless
  // `inside`), then a wait.
  void run(bool inside) {
    if (inside)
      for (OnednnMove& m : in) m.run(strm);
    conv.execute(strm, args);
    if (inside)
      for (OnednnMove& m : out) m.run(strm);
    strm.wait();
  }
  dnnl::engine eng;
  dnnl::stream strm;
  std::vector<OnednnMove> in, out;
  dnnl::primitive conv;
  std::unordered_map<int, dnnl::memory> args;
};
#endif

}  // namespace signet::bench
