#include "engine/nn/conv_lstm.h"

#include <cmath>

#include "engine/nn/trace.h"
#include "engine/ops/conv.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/join.h"

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

Tensor ConvLSTM::layer_forward(int64_t l, const Tensor& x, Tensor& h, Tensor& c) const {
  int64_t T = x.size(0), N = x.size(1), C = x.size(2), H = x.size(3), W = x.size(4);
  int64_t hid = opt_.hidden_channels, pad = opt_.kernel_size / 2;
  Tensor wx = weight_[l].narrow(1, 0, C), wh = weight_[l].narrow(1, C, hid);
  // The x-path does not depend on h: one convolution over all T * N frames.
  Tensor xg =
      conv2d(x.reshape({T * N, C, H, W}), wx, bias_[l], {1}, {pad}).reshape({T, N, 4 * hid, H, W});
  std::vector<Tensor> hs;
  for (int64_t t = 0; t < T; ++t) {
    Tensor g = xg.narrow(0, t, 1).squeeze(0) + conv2d(h, wh, Tensor(), {1}, {pad});
    Tensor gi = g.narrow(1, 0, hid), gf = g.narrow(1, hid, hid);
    Tensor go = g.narrow(1, 2 * hid, hid), gg = g.narrow(1, 3 * hid, hid);
    if (opt_.peephole) {
      gi = gi + w_ci_[l] * c;
      gf = gf + w_cf_[l] * c;
    }
    c = sigmoid(gf) * c + sigmoid(gi) * tanh(gg);
    if (opt_.peephole) go = go + w_co_[l] * c;
    h = sigmoid(go) * tanh(c);
    hs.push_back(h);
  }
  return stack(hs, 0);
}

std::pair<Tensor, ConvLstmState> ConvLSTM::forward(const Tensor& x,
                                                   const ConvLstmState& state) const {
  SIGNET_CHECK(x.dim() == 5, "ConvLSTM: expects (T, N, C, H, W)",
               opt_.batch_first ? " with batch_first (N, T, C, H, W)" : "", ", got ",
               shape_str(x.shape()));
  Tensor seq = opt_.batch_first ? x.transpose(0, 1) : x;
  SIGNET_CHECK(seq.size(2) == opt_.input_channels, "ConvLSTM: input has ", seq.size(2),
               " channels, the module expects ", opt_.input_channels, " (input shape ",
               shape_str(x.shape()), ")");
  int64_t N = seq.size(1), H = seq.size(3), W = seq.size(4), hid = opt_.hidden_channels;
  ConvLstmState out;
  for (int64_t l = 0; l < opt_.num_layers; ++l) {
    bool given = static_cast<int64_t>(state.h.size()) > l;
    Tensor h = given ? state.h[l] : zeros({N, hid, H, W}, seq.dtype());
    Tensor c = given ? state.c[l] : zeros({N, hid, H, W}, seq.dtype());
    SIGNET_CHECK(h.shape() == (Shape{N, hid, H, W}) && c.shape() == h.shape(),
                 "ConvLSTM: state of layer ", l, " has shape ", shape_str(h.shape()), ", expected ",
                 shape_str({N, hid, H, W}));
    seq = layer_forward(l, seq, h, c);
    out.h.push_back(h);
    out.c.push_back(c);
  }
  Tensor y = opt_.batch_first ? seq.transpose(0, 1) : seq;
  trace_output(this, "ConvLSTM", y);
  return {y, out};
}

}  // namespace signet::nn
