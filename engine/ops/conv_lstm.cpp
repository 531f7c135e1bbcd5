#include "engine/ops/conv_lstm.h"

#include <vector>

#include "engine/autograd.h"
#include "engine/cuda_kernels.h"
#include "kernels/common/convlstm_desc.h"

namespace signet {
namespace {

using Grads = std::vector<Tensor>;
using kernels::ConvLstmDesc;

// f32 pointer to t's data, or null for an undefined t.
float* ptr(const Tensor& t) {
  return t.defined() ? static_cast<float*>(t.raw_data()) : nullptr;
}

// Refuses t unless it has shape want, f32 and x's device.
void check_operand(const char* what, const Tensor& t, const Shape& want, const Tensor& x) {
  SIGNET_CHECK(t.defined() && t.shape() == want, "conv_lstm_layer: ", what, " has shape ",
               t.defined() ? shape_str(t.shape()) : "undefined", ", expected ", shape_str(want),
               " (input ", shape_str(x.shape()), ")");
  SIGNET_CHECK(t.dtype() == DType::f32 && t.device() == x.device(), "conv_lstm_layer: ", what,
               " must be f32 on ", x.device().str(), ", got ", dtype_name(t.dtype()), " on ",
               t.device().str());
}

// Checks every argument and returns the layer's descriptor.
ConvLstmDesc check_layer(const Tensor& x, const ConvLstmLayerWeights& w, const Tensor& h0,
                         const Tensor& c0, const Tensor& lengths) {
  check_defined("conv_lstm_layer", x);
  SIGNET_CHECK(x.dim() == 5 && x.device().type == Device::Type::cuda && x.dtype() == DType::f32,
               "conv_lstm_layer: input must be f32 (T, N, C, H, W) on a cuda device, got ",
               dtype_name(x.dtype()), " ", shape_str(x.shape()), " on ", x.device().str());
  check_defined("conv_lstm_layer", w.w_h);
  SIGNET_CHECK(w.w_h.dim() == 4 && w.w_h.size(0) == 4 * w.w_h.size(1) &&
                   w.w_h.size(2) == w.w_h.size(3) && w.w_h.size(2) % 2 == 1,
               "conv_lstm_layer: w_h must be (4 hid, hid, k, k) with k odd, got ",
               shape_str(w.w_h.shape()));
  ConvLstmDesc d;
  d.steps = x.size(0);
  d.batch = x.size(1);
  d.input = x.size(2);
  d.height = x.size(3);
  d.width = x.size(4);
  d.hidden = w.w_h.size(1);
  d.kernel = w.w_h.size(2);
  const int64_t hid = d.hidden, k = d.kernel, plane = d.height * d.width;
  check_operand("w_x", w.w_x, {4 * hid, d.input, k, k}, x);
  check_operand("w_h", w.w_h, {4 * hid, hid, k, k}, x);
  check_operand("bias", w.bias, {4 * hid}, x);
  SIGNET_CHECK(w.ci.defined() == w.cf.defined() && w.cf.defined() == w.co.defined(),
               "conv_lstm_layer: the peepholes ci, cf, co must all be given or all undefined");
  if (w.ci.defined()) {
    d.peephole = w.ci.numel() == hid ? 1 : 2;
    const Shape want = d.peephole == 1 ? Shape{hid} : Shape{hid * plane};
    check_operand("ci", w.ci.reshape({w.ci.numel()}), want, x);
    check_operand("cf", w.cf.reshape({w.cf.numel()}), want, x);
    check_operand("co", w.co.reshape({w.co.numel()}), want, x);
  }
  const Shape state{d.batch, hid, d.height, d.width};
  if (h0.defined()) check_operand("h0", h0, state, x);
  if (c0.defined()) check_operand("c0", c0, state, x);
  if (lengths.defined()) {
    check_dtype("conv_lstm_layer lengths", lengths, {DType::i64});
    SIGNET_CHECK(lengths.shape() == Shape{d.batch}, "conv_lstm_layer: lengths has shape ",
                 shape_str(lengths.shape()), ", expected [", d.batch, "]");
    for (int64_t v : lengths.cpu().contiguous().to_vector<int64_t>())
      SIGNET_CHECK(v >= 0 && v <= d.steps, "conv_lstm_layer: a length of ", v, " is outside [0, ",
                   d.steps, "] for input ", shape_str(x.shape()));
  }
  return d;
}

// A zeroed (N, U) gradient, or a contiguous copy of g (the kernels overwrite it).
Tensor state_grad(const Tensor& g, int64_t n, int64_t u, Device dev) {
  return g.defined() ? g.contiguous().clone().reshape({n, u}) : zeros({n, u}, DType::f32, dev);
}

}  // namespace

ConvLstmLayerResult conv_lstm_layer(const Tensor& x, const ConvLstmLayerWeights& w,
                                    const Tensor& h0, const Tensor& c0, const Tensor& lengths) {
  const ConvLstmDesc d = check_layer(x, w, h0, c0, lengths);
  const int64_t T = d.steps, N = d.batch, hid = d.hidden, H = d.height, W = d.width;
  const int64_t U = hid * H * W;
  const Device dev = x.device();
  Tensor xc, w_x, w_h, bias, ci, cf, co, lens, act, hbuf, cbuf, y, h0c, c0c;
  ConvLstmLayerResult r;
  {
    NoGradGuard no_grad;
    xc = x.contiguous();
    w_x = w.w_x.contiguous();
    w_h = w.w_h.contiguous();
    bias = w.bias.contiguous();
    if (d.peephole) {
      ci = w.ci.contiguous();
      cf = w.cf.contiguous();
      co = w.co.contiguous();
    }
    if (lengths.defined()) lens = lengths.to(dev).contiguous();
    if (h0.defined()) h0c = h0.contiguous();
    if (c0.defined()) c0c = c0.contiguous();
    act = empty({T, N, 4 * U}, DType::f32, dev);
    hbuf = empty({T + 1, N, U}, DType::f32, dev);
    cbuf = empty({T + 1, N, U}, DType::f32, dev);
    y = lens.defined() ? empty({T, N, U}, DType::f32, dev) : Tensor();
    Tensor ws = empty({static_cast<int64_t>(cuda_convlstm_workspace_bytes(d)) + 1}, DType::u8, dev);
    cuda_convlstm_forward_f32(
        d, lens.defined() ? static_cast<const int64_t*>(lens.raw_data()) : nullptr, xc.raw_data(),
        w_x.raw_data(), w_h.raw_data(), bias.raw_data(), {ptr(ci), ptr(cf), ptr(co)}, ptr(h0c),
        ptr(c0c), {ptr(act), ptr(hbuf), ptr(cbuf), ptr(y)}, ws.raw_data());
    const Shape seq{T, N, hid, H, W}, state{N, hid, H, W};
    r.output = y.defined() ? y.reshape(seq) : hbuf.narrow(0, 1, T).reshape(seq);
    r.h_n = hbuf.narrow(0, T, 1).reshape(state).clone();
    r.c_n = cbuf.narrow(0, T, 1).reshape(state).clone();
  }
  std::vector<const Tensor*> inputs{&x, &w.w_x, &w.w_h, &w.bias};
  if (d.peephole) inputs.insert(inputs.end(), {&w.ci, &w.cf, &w.co});
  if (h0.defined()) inputs.push_back(&h0);
  if (c0.defined()) inputs.push_back(&c0);
  if (!autograd::needs_grad({&x, &w.w_x, &w.w_h, &w.bias, &w.ci, &w.cf, &w.co, &h0, &c0})) return r;
  const bool has_h0 = h0.defined(), has_c0 = c0.defined();
  const Shape x_shape = x.shape(), state{N, hid, H, W};
  autograd::record(
      "ConvLstmBackward", inputs, {&r.output, &r.h_n, &r.c_n},
      {xc, w_x, w_h, act, hbuf, cbuf, ci, cf, co, lens},
      [d, U, dev, has_h0, has_c0, x_shape, state](const Grads& g, const Grads& s) {
        const int64_t T = d.steps, N = d.batch, hid = d.hidden, k = d.kernel;
        const Tensor &xs = s[0], &wx = s[1], &wh = s[2], &lens = s[9];
        Tensor dh = state_grad(g[1], N, U, dev), dc = state_grad(g[2], N, U, dev);
        Tensor dy = g[0].defined() ? g[0].contiguous() : Tensor();
        Tensor dx = empty(x_shape, DType::f32, dev), dgates = empty({T, N, 4 * U}, DType::f32, dev);
        Tensor dwx = empty({4 * hid, d.input, k, k}, DType::f32, dev);
        Tensor dwh = empty({4 * hid, hid, k, k}, DType::f32, dev);
        Tensor db = empty({4 * hid}, DType::f32, dev);
        Tensor dci, dcf, dco;
        if (d.peephole) {
          dci = empty(s[6].shape(), DType::f32, dev);
          dcf = empty(s[6].shape(), DType::f32, dev);
          dco = empty(s[6].shape(), DType::f32, dev);
        }
        Tensor ws =
            empty({static_cast<int64_t>(cuda_convlstm_workspace_bytes(d)) + 1}, DType::u8, dev);
        cuda_convlstm_backward_f32(
            d, lens.defined() ? static_cast<const int64_t*>(lens.raw_data()) : nullptr,
            xs.raw_data(), wx.raw_data(), wh.raw_data(), {ptr(s[6]), ptr(s[7]), ptr(s[8])},
            {ptr(s[3]), ptr(s[4]), ptr(s[5]), nullptr}, dy.defined() ? dy.raw_data() : nullptr,
            {ptr(dx), ptr(dwx), ptr(dwh), ptr(db), ptr(dci), ptr(dcf), ptr(dco), ptr(dh), ptr(dc),
             ptr(dgates)},
            ws.raw_data());
        Grads out{dx, dwx, dwh, db};
        if (d.peephole) out.insert(out.end(), {dci, dcf, dco});
        if (has_h0) out.push_back(dh.reshape(state));
        if (has_c0) out.push_back(dc.reshape(state));
        return out;
      });
  return r;
}

}  // namespace signet
