#include "engine/nn/conv_lstm.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/nn/trace.h"
#include "engine/ops/conv.h"
#include "engine/ops/conv_lstm.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/join.h"
#include "engine/ops/lstm.h"

namespace signet::nn {

ConvLSTM::ConvLSTM(const ConvLstmOptions& opt) : opt_(opt) {
  SIGNET_CHECK(opt.input_channels > 0 && opt.hidden_channels > 0 && opt.num_layers > 0,
               "ConvLSTM: input_channels, hidden_channels and num_layers must be positive");
  SIGNET_CHECK(opt.kernel_size > 0 && opt.kernel_size % 2 == 1,
               "ConvLSTM: kernel_size must be odd for 'same' padding, got ", opt.kernel_size);
  SIGNET_CHECK(opt.peephole_positions.empty() || opt.peephole_positions.size() == 2,
               "ConvLSTM: peephole_positions must be {H, W}");
  int64_t hid = opt.hidden_channels, k = opt.kernel_size;
  Shape peep = opt.peephole_positions.empty()
                   ? Shape{hid, 1, 1}
                   : Shape{hid, opt.peephole_positions[0], opt.peephole_positions[1]};
  for (int64_t l = 0; l < opt.num_layers; ++l) {
    int64_t in = (l == 0 ? opt.input_channels : hid) + hid;
    double bound = 1.0 / std::sqrt(static_cast<double>(in * k * k));
    std::string p = "cell_list." + std::to_string(l) + ".";
    weight_.push_back(register_parameter(
        p + "conv.weight", rand({4 * hid, in, k, k}, opt.dtype) * (2 * bound) - bound));
    bias_.push_back(
        register_parameter(p + "conv.bias", rand({4 * hid}, opt.dtype) * (2 * bound) - bound));
    if (!opt.peephole) continue;
    w_ci_.push_back(register_parameter(p + "w_ci", zeros(peep, opt.dtype)));
    w_cf_.push_back(register_parameter(p + "w_cf", zeros(peep, opt.dtype)));
    w_co_.push_back(register_parameter(p + "w_co", zeros(peep, opt.dtype)));
  }
}

namespace {

// Checks lengths against a time-major x and returns them (empty when lengths is undefined).
std::vector<int64_t> check_lengths(const Tensor& lengths, const Tensor& seq, const Tensor& x) {
  if (!lengths.defined()) return {};
  const int64_t T = seq.size(0), N = seq.size(1);
  check_dtype("ConvLSTM lengths", lengths, {DType::i64});
  SIGNET_CHECK(lengths.shape() == Shape{N}, "ConvLSTM: lengths has shape ",
               shape_str(lengths.shape()), ", expected [", N, "] (one per sample of input ",
               shape_str(x.shape()), ")");
  std::vector<int64_t> lens = lengths.contiguous().to(Device::cpu()).to_vector<int64_t>();
  for (int64_t b = 0; b < N; ++b)
    SIGNET_CHECK(lens[b] >= 0 && lens[b] <= T, "ConvLSTM: lengths[", b, "] = ", lens[b],
                 " is outside [0, ", T, "] for input ", shape_str(x.shape()));
  return lens;
}

// The (N, 1, 1, 1) mask of the samples still running at step t (undefined when all are).
Tensor step_mask(const std::vector<int64_t>& lens, int64_t t, const Tensor& like) {
  std::vector<double> m(lens.size());
  bool all = true;
  for (size_t b = 0; b < lens.size(); ++b) {
    m[b] = t < lens[b] ? 1.0 : 0.0;
    all = all && m[b] == 1.0;
  }
  if (all) return Tensor();
  const int64_t N = static_cast<int64_t>(lens.size());
  return from_vector<double>(m, {N, 1, 1, 1}).to(like.dtype()).to(like.device());
}

// The rows of a (4 hid, ...) weight or bias in gate order (i, f, g, o) instead of (i, f, o, g).
Tensor to_ifgo(const Tensor& t, int64_t hid) {
  return cat({t.narrow(0, 0, 2 * hid), t.narrow(0, 3 * hid, hid), t.narrow(0, 2 * hid, hid)}, 0);
}

// x (T, ...) as its T steps x[t], one autograd node whose backward stacks their gradients (a
// narrow per step would zero-fill and add a gradient of x's full size at every step).
std::vector<Tensor> unbind_time(const Tensor& x) {
  std::vector<Tensor> out;
  {
    NoGradGuard no_grad;
    for (int64_t t = 0; t < x.size(0); ++t) out.push_back(x.narrow(0, t, 1).squeeze(0));
  }
  if (!autograd::needs_grad({&x})) return out;
  std::vector<Tensor*> outputs;
  for (Tensor& o : out) outputs.push_back(&o);
  const Shape step_shape = out[0].shape();
  const DType dt = x.dtype();
  const Device dev = x.device();
  autograd::record("UnbindBackward", {&x}, outputs, {},
                   [step_shape, dt, dev](const std::vector<Tensor>& g, const std::vector<Tensor>&) {
                     std::vector<Tensor> parts;
                     for (const Tensor& gt : g)
                       parts.push_back(gt.defined() ? gt : zeros(step_shape, dt, dev));
                     return std::vector<Tensor>{stack(parts, 0)};
                   });
  return out;
}

}  // namespace

Tensor ConvLSTM::layer_forward(int64_t l, const Tensor& x, Tensor& h, Tensor& c,
                               const std::vector<int64_t>& lens) const {
  int64_t T = x.size(0), N = x.size(1), C = x.size(2), H = x.size(3), W = x.size(4);
  int64_t hid = opt_.hidden_channels, pad = opt_.kernel_size / 2;
  // On a cuda device the layer is one node on the fused kernels (engine/ops/conv_lstm.h: the h-path
  // convolution with the gate math in its epilogue), its weights in gate order (i, f, g, o).
  if (x.device().type == Device::Type::cuda && x.dtype() == DType::f32) {
    const Tensor w = to_ifgo(weight_[l], hid);
    ConvLstmLayerWeights lw{
        w.narrow(1, 0, C), w.narrow(1, C, hid), to_ifgo(bias_[l], hid), Tensor(), Tensor(),
        Tensor()};
    if (opt_.peephole) {
      lw.ci = w_ci_[l];
      lw.cf = w_cf_[l];
      lw.co = w_co_[l];
    }
    // A given initial state may still be on the cpu.
    ConvLstmLayerResult r = conv_lstm_layer(x, lw, h.to(x.device()), c.to(x.device()),
                                            lens.empty() ? Tensor() : from_vector(lens));
    h = r.h_n;
    c = r.c_n;
    return r.output;
  }
  // Without peepholes each step's gates go through the fused LSTM cell (lstm_cell_step_sum, a unit
  // per (channel, position); CPU only), whose gate order is (i, f, g, o): the parameters' rows are
  // permuted to it (differentiably) so that the convolutions produce the gates in that order.
  // Otherwise the gate math is composed of elementwise ops.
  const bool fused = !opt_.peephole && x.device().type == Device::Type::cpu;
  const Tensor w = fused ? to_ifgo(weight_[l], hid) : weight_[l];
  const Tensor bias = fused ? to_ifgo(bias_[l], hid) : bias_[l];
  // Contiguous copies once per call: a narrowed view would be copied by every step's convolution
  // (its packing is cached either way, keyed on the view: engine/ops/conv.cpp).
  Tensor wx = w.narrow(1, 0, C).contiguous(), wh = w.narrow(1, C, hid).contiguous();
  // The x-path does not depend on h: one convolution over all T * N frames.
  const std::vector<Tensor> xg = unbind_time(
      conv2d(x.reshape({T * N, C, H, W}), wx, bias, {1}, {pad}).reshape({T, N, 4 * hid, H, W}));
  const int64_t U = hid * H * W;
  std::vector<Tensor> hs;
  for (int64_t t = 0; t < T; ++t) {
    Tensor gh = conv2d(h, wh, Tensor(), {1}, {pad});
    if (fused) {
      // The x-path and h-path gates are added inside the cell kernel (no add pass per step).
      LstmStepResult r = lstm_cell_step_sum(xg[t].reshape({N, 4 * U}), gh.reshape({N, 4 * U}),
                                            c.reshape({N, U}), h.reshape({N, U}), lens, t);
      c = r.c.reshape({N, hid, H, W});
      h = r.h.reshape({N, hid, H, W});
      hs.push_back(r.y.reshape({N, hid, H, W}));
      continue;
    }
    Tensor g = xg[t] + gh;
    Tensor gi = g.narrow(1, 0, hid), gf = g.narrow(1, hid, hid);
    Tensor go = g.narrow(1, 2 * hid, hid), gg = g.narrow(1, 3 * hid, hid);
    if (opt_.peephole) {
      gi = gi + w_ci_[l] * c;
      gf = gf + w_cf_[l] * c;
    }
    Tensor c_new = sigmoid(gf) * c + sigmoid(gi) * tanh(gg);
    if (opt_.peephole) go = go + w_co_[l] * c_new;
    Tensor h_new = sigmoid(go) * tanh(c_new);
    Tensor m = lens.empty() ? Tensor() : step_mask(lens, t, x);
    if (!m.defined()) {
      c = c_new;
      h = h_new;
      hs.push_back(h);
      continue;
    }
    // Finished samples keep their state; their output is 0 and sends no gradient back.
    Tensor keep = 1.0 - m;
    c = m * c_new + keep * c;
    h = m * h_new + keep * h;
    hs.push_back(m * h_new);
  }
  return stack(hs, 0);
}

std::pair<Tensor, ConvLstmState> ConvLSTM::forward(const Tensor& x, const ConvLstmState& state,
                                                   const Tensor& lengths) const {
  SIGNET_CHECK(x.dim() == 5, "ConvLSTM: expects (T, N, C, H, W)",
               opt_.batch_first ? " with batch_first (N, T, C, H, W)" : "", ", got ",
               shape_str(x.shape()));
  Tensor seq = opt_.batch_first ? x.transpose(0, 1) : x;
  SIGNET_CHECK(seq.size(2) == opt_.input_channels, "ConvLSTM: input has ", seq.size(2),
               " channels, the module expects ", opt_.input_channels, " (input shape ",
               shape_str(x.shape()), ")");
  const std::vector<int64_t> lens = check_lengths(lengths, seq, x);
  int64_t N = seq.size(1), H = seq.size(3), W = seq.size(4), hid = opt_.hidden_channels;
  ConvLstmState out;
  for (int64_t l = 0; l < opt_.num_layers; ++l) {
    bool given = static_cast<int64_t>(state.h.size()) > l;
    Tensor h = given ? state.h[l] : zeros({N, hid, H, W}, seq.dtype(), seq.device());
    Tensor c = given ? state.c[l] : zeros({N, hid, H, W}, seq.dtype(), seq.device());
    SIGNET_CHECK(h.shape() == (Shape{N, hid, H, W}) && c.shape() == h.shape(),
                 "ConvLSTM: state of layer ", l, " has shape ", shape_str(h.shape()), ", expected ",
                 shape_str({N, hid, H, W}));
    seq = layer_forward(l, seq, h, c, lens);
    out.h.push_back(h);
    out.c.push_back(c);
  }
  Tensor y = opt_.batch_first ? seq.transpose(0, 1) : seq;
  trace_output(this, "ConvLSTM", y);
  return {y, out};
}

}  // namespace signet::nn
