// Recurrent layers: Signet's nn::LSTM beside oneDNN's lstm_forward / lstm_backward (vanilla LSTM,
// the same weights: W_ih, W_hh transposed into ldigo and b_ih + b_hh as the one bias, then
// reordered once, outside the timing, into the layouts each primitive asks for: ldigo-blocked
// forward, ldgoi backward), and Signet's nn::ConvLSTM (no peer), 1 and all threads.
// Directions: fwd_infer (no graph), fwd_train (the graph and what backward needs are kept),
// fwd_bwd (training forward, then backward from a fixed random dy to x and every weight; oneDNN's
// diff weights are zeroed inside the timing, as an optimiser's zero_grad would).
// `pair_onednn` alternates ours and oneDNN call by call (harness run_paired) and reports the
// median and quartiles of the per-call ratio oneDNN time / our time; the ConvLSTM's
// `pair_onednn_c16` pairs it with its bound (16 x oneDNN's conv case C, fwd + bwd_data +
// bwd_weights; see bm_pair_onednn_c16_conv_lstm).
// FLOP formulas (the cell's elementwise work is not counted):
//   LSTM forward   F = sum over layers 2 T N 4H (I_l + H)   (input projection + recurrent GEMMs)
//   LSTM fwd_bwd   3F                                       (dX, dH and both weight gradients)
//   ConvLSTM fwd   F = T 2 N 4hid (C + hid) k^2 H W         (x-path and h-path convolutions)
//   ConvLSTM fwd_bwd 3F                                     (data and weight gradients)
//   lstm_step       2 m n k per product                     (one recurrent step GEMM of L1)
//   lstm_steps      2 N 4H H (2T - 1)                       (a layer's recurrent products: T
//                                                            forward, T - 1 backward, as the
//                                                            per-step path runs them; the fused
//                                                            steps skip the first forward one)
// lstm_step runs L1's two step products alone on the kernels: forward h W_hh^T (32 x 4096 x
// 1024) and backward dG W_hh (32 x 1024 x 4096), v3_packed (repacks W every call, the old
// per-step path) beside prepacked (W packed once outside the timing; "pack" times that packing)
// and prepacked_t (the transposed product W h^T of lstm_step_gemm v4_transposed on op(W)^T packed
// once; "pack_t" times that packing).
// lstm_steps runs one layer's recurrent part alone (L1 and S: packing W_hh both ways, T steps of
// product + cell forward, T steps of cell gradient + product backward, no bias, h0 = 0): `fused`
// is kernels/cpu/lstm_steps.h ("lstm_steps" / "lstm_steps_backward" v2_fused: one OpenMP region
// and one barrier per step), `per_step` the same work as v1_steps runs it (sgemm_prepacked_t and
// the v2 cells, two OpenMP regions per step).
// oneDNN's vanilla LSTM runs the same input-projection and recurrent GEMMs, so F holds for it
// too. Its t1 fwd_infer once measured 187 GFLOP/s, above the 158.8 GFLOP/s FMA ceiling: not the
// formula but the threads: its primitives had been created at 2 threads and kept that count at
// t1 (see onednn_lstm); they are now created per thread count, so oneDNN's t1 figures in
// bench/RESULTS.md before 2026-12-01 09:00 UTC were (partly) 2-thread figures.
// `signet` runs the engine's default versions (SIGNET_IMPL_lstm_gemm / lstm_step_gemm /
// lstm_cell / lstm_cell_backward / lstm_cell_sum / conv2d... select others; e.g.
// SIGNET_IMPL_lstm_step_gemm=v2_packed reruns the per-step repacking of W_hh that v3_prepacked
// replaced); SIGNET_PROFILE=1 prints each op's share.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "bench/harness.h"
#include "bench/onednn_conv.h"
#include "bench/rnn_cases.h"
#include "engine/autograd.h"
#include "engine/nn/conv_lstm.h"
#include "engine/nn/lstm.h"
#include "engine/ops/elementwise.h"
#include "engine/random.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_prepacked.h"
#include "kernels/cpu/lstm_cell.h"
#include "kernels/cpu/lstm_steps.h"

#ifdef SIGNET_BENCH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace {

using signet::Tensor;

using signet::bench::kLstmCases;
using signet::bench::LstmCase;

// The directions every LSTM case runs.
enum class Dir { fwd_infer, fwd_train, fwd_bwd };
const char* dir_name(Dir d) {
  return d == Dir::fwd_infer ? "fwd_infer" : d == Dir::fwd_train ? "fwd_train" : "fwd_bwd";
}

// F of the formula above for case c.
double lstm_forward_flops(const LstmCase& c) {
  double f = 0;
  for (int64_t l = 0; l < c.layers; ++l)
    f += 2.0 * c.T * c.N * 4 * c.H * ((l == 0 ? c.I : c.H) + c.H);
  return f;
}

// A case's module, input and upstream gradient, made once (weights from a fixed seed).
struct LstmData {
  std::unique_ptr<signet::nn::LSTM> m;
  Tensor x, dy;
};

// Builds (once) the data of case c.
LstmData& lstm_data(const LstmCase& c) {
  static std::map<const LstmCase*, LstmData> all;
  auto it = all.find(&c);
  if (it != all.end()) return it->second;
  signet::manual_seed(7);
  signet::nn::LstmOptions o;
  o.input_size = c.I;
  o.hidden_size = c.H;
  o.num_layers = c.layers;
  LstmData d;
  d.m = std::make_unique<signet::nn::LSTM>(o);
  d.x = signet::rand({c.T, c.N, c.I}) * 2.0 - 1.0;
  d.x.requires_grad_();
  d.dy = signet::rand({c.T, c.N, c.H}) * 2.0 - 1.0;
  return all.emplace(&c, std::move(d)).first->second;
}

// One pass of a Signet recurrent module (d.m: nn::LSTM or nn::ConvLSTM, input d.x, output
// gradient d.dy) in direction dir.
template <class Data>
void signet_module_pass(Data& d, Dir dir) {
  if (dir == Dir::fwd_infer) {
    signet::NoGradGuard no_grad;
    benchmark::DoNotOptimize(d.m->forward(d.x).first.raw_data());
    return;
  }
  d.m->zero_grad();
  d.x.zero_grad();
  Tensor y = d.m->forward(d.x).first;
  if (dir == Dir::fwd_bwd) y.backward(d.dy);
  benchmark::DoNotOptimize(y.raw_data());
}

// Signet's nn::LSTM in direction dir with `threads` threads.
void bm_signet_lstm(benchmark::State& state, const LstmCase* c, Dir dir, int threads) {
  LstmData& d = lstm_data(*c);
  signet::bench::set_omp_threads(threads);
  for (auto _ : state) signet_module_pass(d, dir);
  signet::bench::set_flop_counters(state, (dir == Dir::fwd_bwd ? 3 : 1) * lstm_forward_flops(*c),
                                   threads);
}

#ifdef SIGNET_BENCH_ONEDNN
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// oneDNN's primitives, their weights in the layouts they chose, and every buffer of case c.
struct OnednnLstm {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  dnnl::lstm_forward::primitive_desc infer_pd, train_pd;
  dnnl::lstm_backward::primitive_desc bwd_pd;
  dnnl::lstm_forward infer, train;
  dnnl::lstm_backward bwd;
  memory src, dst, bias, wl_infer, wi_infer, wl_train, wi_train, wl_bwd, wi_bwd, workspace;
  memory diff_src, diff_dst, diff_wl, diff_wi, diff_bias;
};

// Builds (once per thread count) oneDNN's LSTM for case c on the weights of lstm_data(c). A
// oneDNN primitive keeps the OpenMP thread count of its creation: one made at 2 threads ran the
// t1 cases on 2 threads (main-thread CPU time 44.7 ms vs 84 ms at OMP_NUM_THREADS=1, L1
// fwd_infer), which is how oneDNN's t1 fwd_infer once reported 187 GFLOP/s, above the FMA ceiling.
OnednnLstm& onednn_lstm(const LstmCase& c, int threads) {
  static std::map<std::pair<const LstmCase*, int>, std::unique_ptr<OnednnLstm>> all;
  auto it = all.find({&c, threads});
  if (it != all.end()) return *it->second;
  signet::bench::set_omp_threads(threads);
  auto p = std::make_unique<OnednnLstm>();
  OnednnLstm& o = *p;
  LstmData& d = lstm_data(c);
  const memory::dim T = c.T, N = c.N, I = c.I, H = c.H, L = c.layers;
  const memory::desc src_md({T, N, I}, dt::f32, tag::tnc), dst_md({T, N, H}, dt::f32, tag::tnc);
  const memory::desc wl_any({L, 1, I, 4, H}, dt::f32, tag::any);
  const memory::desc wi_any({L, 1, H, 4, H}, dt::f32, tag::any);
  const memory::desc bias_md({L, 1, 4, H}, dt::f32, tag::ldgo), none;
  const auto dir = dnnl::rnn_direction::unidirectional_left2right;
  o.infer_pd = dnnl::lstm_forward::primitive_desc(
      dnnl::lstm_forward::desc(dnnl::prop_kind::forward_inference, dir, src_md, none, none, wl_any,
                               wi_any, bias_md, dst_md, none, none),
      o.eng);
  o.train_pd = dnnl::lstm_forward::primitive_desc(
      dnnl::lstm_forward::desc(dnnl::prop_kind::forward_training, dir, src_md, none, none, wl_any,
                               wi_any, bias_md, dst_md, none, none),
      o.eng);
  o.bwd_pd = dnnl::lstm_backward::primitive_desc(
      dnnl::lstm_backward::desc(dnnl::prop_kind::backward, dir, src_md, none, none, wl_any, wi_any,
                                bias_md, dst_md, none, none, src_md, none, none, wl_any, wi_any,
                                bias_md, dst_md, none, none),
      o.eng, o.train_pd);
  o.infer = dnnl::lstm_forward(o.infer_pd);
  o.train = dnnl::lstm_forward(o.train_pd);
  o.bwd = dnnl::lstm_backward(o.bwd_pd);

  // The user weights: ldigo[l][0][i][g][h] = W_ih_l[g H + h][i], bias = b_ih + b_hh.
  memory user_wl({{L, 1, I, 4, H}, dt::f32, tag::ldigo}, o.eng);
  memory user_wi({{L, 1, H, 4, H}, dt::f32, tag::ldigo}, o.eng);
  o.bias = memory(bias_md, o.eng);
  float* wl = static_cast<float*>(user_wl.get_data_handle());
  float* wi = static_cast<float*>(user_wi.get_data_handle());
  float* b = static_cast<float*>(o.bias.get_data_handle());
  for (int64_t l = 0; l < L; ++l) {
    const signet::LstmWeights& w = d.m->weights(l);
    const int64_t in = l == 0 ? I : H;
    const std::vector<float> w_ih = w.w_ih.to_vector<float>(), w_hh = w.w_hh.to_vector<float>();
    const std::vector<float> b_ih = w.b_ih.to_vector<float>(), b_hh = w.b_hh.to_vector<float>();
    for (int64_t i = 0; i < in; ++i)
      for (int64_t r = 0; r < 4 * H; ++r) wl[(l * I + i) * 4 * H + r] = w_ih[r * in + i];
    for (int64_t i = 0; i < H; ++i)
      for (int64_t r = 0; r < 4 * H; ++r) wi[(l * H + i) * 4 * H + r] = w_hh[r * H + i];
    for (int64_t r = 0; r < 4 * H; ++r) b[l * 4 * H + r] = b_ih[r] + b_hh[r];
  }
  auto reordered = [&](memory& from, const memory::desc& to) {
    memory m(to, o.eng);
    dnnl::reorder(from, m).execute(o.strm, from, m);
    return m;
  };
  o.wl_infer = reordered(user_wl, o.infer_pd.weights_layer_desc());
  o.wi_infer = reordered(user_wi, o.infer_pd.weights_iter_desc());
  o.wl_train = reordered(user_wl, o.train_pd.weights_layer_desc());
  o.wi_train = reordered(user_wi, o.train_pd.weights_iter_desc());
  o.wl_bwd = reordered(user_wl, o.bwd_pd.weights_layer_desc());
  o.wi_bwd = reordered(user_wi, o.bwd_pd.weights_iter_desc());
  o.strm.wait();

  o.src = memory(src_md, o.eng);
  const std::vector<float> x = d.x.detach().to_vector<float>(), dy = d.dy.to_vector<float>();
  std::memcpy(o.src.get_data_handle(), x.data(), x.size() * sizeof(float));
  o.dst = memory(dst_md, o.eng);
  o.workspace = memory(o.train_pd.workspace_desc(), o.eng);
  o.diff_src = memory(o.bwd_pd.diff_src_layer_desc(), o.eng);
  o.diff_dst = memory(o.bwd_pd.diff_dst_layer_desc(), o.eng);
  std::memcpy(o.diff_dst.get_data_handle(), dy.data(), dy.size() * sizeof(float));
  o.diff_wl = memory(o.bwd_pd.diff_weights_layer_desc(), o.eng);
  o.diff_wi = memory(o.bwd_pd.diff_weights_iter_desc(), o.eng);
  o.diff_bias = memory(o.bwd_pd.diff_bias_desc(), o.eng);
  return *all.emplace(std::make_pair(&c, threads), std::move(p)).first->second;
}

// Zeroes a oneDNN buffer.
void zero(const memory& m) {
  std::memset(m.get_data_handle(), 0, m.get_desc().get_size());
}

// One pass of oneDNN's LSTM in direction dir.
void onednn_pass(OnednnLstm& o, Dir dir) {
  if (dir == Dir::fwd_infer) {
    o.infer.execute(o.strm, {{DNNL_ARG_SRC_LAYER, o.src},
                             {DNNL_ARG_WEIGHTS_LAYER, o.wl_infer},
                             {DNNL_ARG_WEIGHTS_ITER, o.wi_infer},
                             {DNNL_ARG_BIAS, o.bias},
                             {DNNL_ARG_DST_LAYER, o.dst}});
    o.strm.wait();
    return;
  }
  o.train.execute(o.strm, {{DNNL_ARG_SRC_LAYER, o.src},
                           {DNNL_ARG_WEIGHTS_LAYER, o.wl_train},
                           {DNNL_ARG_WEIGHTS_ITER, o.wi_train},
                           {DNNL_ARG_BIAS, o.bias},
                           {DNNL_ARG_DST_LAYER, o.dst},
                           {DNNL_ARG_WORKSPACE, o.workspace}});
  if (dir == Dir::fwd_bwd) {
    zero(o.diff_wl);
    zero(o.diff_wi);
    zero(o.diff_bias);
    o.bwd.execute(o.strm, {{DNNL_ARG_SRC_LAYER, o.src},
                           {DNNL_ARG_WEIGHTS_LAYER, o.wl_bwd},
                           {DNNL_ARG_WEIGHTS_ITER, o.wi_bwd},
                           {DNNL_ARG_BIAS, o.bias},
                           {DNNL_ARG_DST_LAYER, o.dst},
                           {DNNL_ARG_WORKSPACE, o.workspace},
                           {DNNL_ARG_DIFF_DST_LAYER, o.diff_dst},
                           {DNNL_ARG_DIFF_SRC_LAYER, o.diff_src},
                           {DNNL_ARG_DIFF_WEIGHTS_LAYER, o.diff_wl},
                           {DNNL_ARG_DIFF_WEIGHTS_ITER, o.diff_wi},
                           {DNNL_ARG_DIFF_BIAS, o.diff_bias}});
  }
  o.strm.wait();
}

// oneDNN's LSTM in direction dir with `threads` OpenMP threads.
void bm_onednn_lstm(benchmark::State& state, const LstmCase* c, Dir dir, int threads) {
  OnednnLstm& o = onednn_lstm(*c, threads);
  signet::bench::set_omp_threads(threads);
  for (auto _ : state) onednn_pass(o, dir);
  signet::bench::set_flop_counters(state, (dir == Dir::fwd_bwd ? 3 : 1) * lstm_forward_flops(*c),
                                   threads);
}

// Ours and oneDNN alternated call by call in direction dir (harness run_paired), both on
// `threads` OpenMP threads: the median of the per-call ratios oneDNN time / our time.
void bm_pair_onednn_lstm(benchmark::State& state, const LstmCase* c, Dir dir, int threads) {
  LstmData& d = lstm_data(*c);
  OnednnLstm& o = onednn_lstm(*c, threads);
  signet::bench::set_omp_threads(threads);
  signet::bench::run_paired(
      state, [&] { signet_module_pass(d, dir); }, [&] { onednn_pass(o, dir); });
}

// Largest |x - y| / (1 + |y|) over n values.
double max_rel_diff(const float* x, const float* y, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; ++i)
    worst = std::max(worst, std::fabs(double{x[i]} - y[i]) / (1 + std::fabs(double{y[i]})));
  return worst;
}

// Layer 0's W_ih gradient from oneDNN's diff_weights_layer, as (4H, I) like weight_ih_l0.
std::vector<float> onednn_dw_ih0(OnednnLstm& o, const LstmCase& c) {
  memory ldigo({{c.layers, 1, c.I, 4, c.H}, dt::f32, tag::ldigo}, o.eng);
  dnnl::reorder(o.diff_wl, ldigo).execute(o.strm, o.diff_wl, ldigo);
  o.strm.wait();
  const float* g = static_cast<const float*>(ldigo.get_data_handle());
  std::vector<float> out(4 * c.H * c.I);
  for (int64_t i = 0; i < c.I; ++i)
    for (int64_t r = 0; r < 4 * c.H; ++r) out[r * c.I + i] = g[i * 4 * c.H + r];
  return out;
}

// Whether --benchmark_filter selects a benchmark named `name` (a leading '-' negates).
bool filter_selects(const std::string& name) {
  const std::string f = benchmark::GetBenchmarkFilter();
  if (f.empty() || f == "all") return true;
  if (f[0] == '-') return !std::regex_search(name, std::regex(f.substr(1)));
  return std::regex_search(name, std::regex(f));
}

// Runs both once per case whose oneDNN fwd_bwd is selected (training forward + backward) and
// records the largest difference of the output, dx and layer 0's dW_ih in the context, so a fast
// wrong answer cannot pass unnoticed.
void check_agreement() {
  for (const LstmCase& c : kLstmCases) {
    bool selected = false;
    for (int t : signet::bench::thread_counts())
      selected = selected ||
                 filter_selects(signet::bench::case_name("lstm", c.name, "fwd_bwd", "onednn", t));
    if (!selected) continue;
    LstmData& d = lstm_data(c);
    const int threads = signet::bench::thread_counts().back();
    OnednnLstm& o = onednn_lstm(c, threads);
    d.x.zero_grad();
    d.m->zero_grad();
    Tensor y = d.m->forward(d.x).first;
    y.backward(d.dy);
    onednn_pass(o, Dir::fwd_bwd);
    const std::vector<float> ours_y = y.detach().to_vector<float>();
    const std::vector<float> ours_dx = d.x.grad().to_vector<float>();
    const std::vector<float> ours_dw = d.m->weights(0).w_ih.grad().to_vector<float>();
    const std::vector<float> peer_dw = onednn_dw_ih0(o, c);
    d.x.zero_grad();
    d.m->zero_grad();
    char note[128];
    std::snprintf(
        note, sizeof note, "output %.2e dx %.2e dW_ih_l0 %.2e",
        max_rel_diff(ours_y.data(), static_cast<const float*>(o.dst.get_data_handle()),
                     ours_y.size()),
        max_rel_diff(ours_dx.data(), static_cast<const float*>(o.diff_src.get_data_handle()),
                     ours_dx.size()),
        max_rel_diff(ours_dw.data(), peer_dw.data(), ours_dw.size()));
    benchmark::AddCustomContext(std::string("max_rel_diff/") + c.name, note);
  }
}
#endif

// The ConvLSTM case: T16 B8, 64 -> 64 channels, 32x32 maps, 3x3 kernels, one layer.
constexpr int64_t kCT = 16, kCN = 8, kCC = 64, kCHid = 64, kCHW = 32, kCK = 3;

// F of the ConvLSTM formula above.
double conv_lstm_forward_flops() {
  return kCT * 2.0 * kCN * 4 * kCHid * (kCC + kCHid) * kCK * kCK * kCHW * kCHW;
}

// The ConvLSTM module, input and upstream gradient, made once.
struct ConvLstmData {
  std::unique_ptr<signet::nn::ConvLSTM> m;
  Tensor x, dy;
};

ConvLstmData& conv_lstm_data() {
  static ConvLstmData d = [] {
    signet::manual_seed(8);
    signet::nn::ConvLstmOptions o;
    o.input_channels = kCC;
    o.hidden_channels = kCHid;
    o.kernel_size = kCK;
    ConvLstmData r;
    r.m = std::make_unique<signet::nn::ConvLSTM>(o);
    r.x = (signet::rand({kCT, kCN, kCC, kCHW, kCHW}) * 2.0 - 1.0).requires_grad_();
    r.dy = signet::rand({kCT, kCN, kCHid, kCHW, kCHW}) * 2.0 - 1.0;
    return r;
  }();
  return d;
}

// Signet's nn::ConvLSTM forward (no graph) or forward + backward with `threads` threads.
void bm_signet_conv_lstm(benchmark::State& state, bool backward, int threads) {
  ConvLstmData& d = conv_lstm_data();
  signet::bench::set_omp_threads(threads);
  for (auto _ : state) signet_module_pass(d, backward ? Dir::fwd_bwd : Dir::fwd_infer);
  signet::bench::set_flop_counters(state, (backward ? 3 : 1) * conv_lstm_forward_flops(), threads);
}

#ifdef SIGNET_BENCH_ONEDNN
// Our ConvLSTM forward + backward and the bound for it alternated call by call (harness
// run_paired): 16 forward, backward-data and backward-weights passes of conv case C by oneDNN
// from NCHW (bench_conv's gating peer). pair_ratio = bound time / ours; the target (ours within
// 1.1x of the bound) is pair_ratio >= 1 / 1.1 = 0.91.
void bm_pair_onednn_c16_conv_lstm(benchmark::State& state, int threads) {
  ConvLstmData& d = conv_lstm_data();
  signet::bench::set_omp_threads(threads);
  const signet::bench::ConvCase& c = signet::bench::kConvCases[2];
  std::vector<std::unique_ptr<signet::bench::OnednnConvPass>> passes;
  for (int pass = 0; pass < 3; ++pass)
    passes.push_back(std::make_unique<signet::bench::OnednnConvPass>(c, pass));
  for (auto& p : passes) p->run(true);
  signet::bench::run_paired(
      state, [&] { signet_module_pass(d, Dir::fwd_bwd); },
      [&] {
        for (int t = 0; t < kCT; ++t)
          for (auto& p : passes) p->run(true);
      });
}
#endif

// One L1 step product: forward (W^T, n = 4H) or backward (W, n = H).
struct StepCase {
  const char *name, *direction;
  int64_t m, n, k;
  bool trans_b;
};
const StepCase kStepCases[] = {{"L1_32x4096x1024", "fwd", 32, 4096, 1024, true},
                               {"L1_32x1024x4096", "bwd", 32, 1024, 4096, false}};

// The step product of c with `impl` (v3_packed, prepacked, pack, prepacked_t or pack_t) on
// `threads` threads.
void bm_step_gemm(benchmark::State& state, const StepCase* c, const char* impl, int threads) {
  const signet::kernels::GemmDesc d =
      signet::kernels::row_major_gemm(c->m, c->n, c->k, false, c->trans_b, 1.0);
  const signet::cpu::SimdPath path = signet::cpu::active_simd_path();
  const Tensor a = signet::rand({c->m, c->k}), w = signet::rand({c->n * c->k});
  Tensor out = signet::zeros({c->m, c->n});
  const std::string kind = impl;
  const bool transposed = kind == "prepacked_t" || kind == "pack_t";
  Tensor packed = signet::empty(
      {static_cast<int64_t>(transposed ? signet::cpu::sgemm_packed_bt_floats(d, path)
                                       : signet::cpu::sgemm_packed_b_floats(d, path))});
  const size_t ws_bytes =
      std::max({signet::cpu::sgemm_workspace_bytes(d, threads),
                signet::cpu::sgemm_prepacked_workspace_bytes(d, threads, path),
                signet::cpu::sgemm_prepacked_t_workspace_bytes(d, threads, path)});
  Tensor ws = signet::empty({static_cast<int64_t>(ws_bytes)}, signet::DType::u8);
  const float* pa = a.data<float>();
  const float* pw = w.data<float>();
  float* pp = packed.data<float>();
  float* pc = out.data<float>();
  if (transposed)
    signet::cpu::sgemm_pack_bt(d, pw, pp, threads, path);
  else
    signet::cpu::sgemm_pack_b(d, pw, pp, threads, path);
  for (auto _ : state) {
    if (kind == "v3_packed")
      signet::cpu::sgemm_v3_packed(d, pa, pw, pc, ws.raw_data(), threads, path);
    else if (kind == "prepacked")
      signet::cpu::sgemm_prepacked(d, pa, pp, pc, ws.raw_data(), threads, path);
    else if (kind == "prepacked_t")
      signet::cpu::sgemm_prepacked_t(d, pa, pp, pc, ws.raw_data(), threads, path);
    else if (kind == "pack_t")
      signet::cpu::sgemm_pack_bt(d, pw, pp, threads, path);
    else
      signet::cpu::sgemm_pack_b(d, pw, pp, threads, path);
    benchmark::DoNotOptimize(pc);
  }
  if (kind == "pack" || kind == "pack_t")
    signet::bench::set_bandwidth_counter(state, 2.0 * 4 * c->n * c->k);  // read W, write packed
  else
    signet::bench::set_flop_counters(state, 2.0 * c->m * c->n * c->k, threads);
}

// One layer's recurrent part: L1's and S's sizes (batch 32).
struct StepsCase {
  const char* name;
  int64_t T, H;
};
const StepsCase kStepsCases[] = {{"L1_B32_T20_H1024", 20, 1024}, {"S_B32_T120_H512", 120, 512}};

// The recurrent part of case c, `fused` or per step, on `threads` threads (see the header).
void bm_lstm_steps(benchmark::State& state, const StepsCase* c, bool fused, int threads) {
  namespace cpu = signet::cpu;
  const int64_t T = c->T, N = 32, H = c->H, G = 4 * H, NH = N * H;
  const cpu::SimdPath path = cpu::active_simd_path();
  signet::bench::set_omp_threads(threads);
  const Tensor w = (signet::rand({G, H}) * 2.0 - 1.0) * 0.03, proj = signet::rand({T, N, G});
  const Tensor dy = signet::rand({T, N, H}) * 2.0 - 1.0;
  Tensor act = signet::empty({T, N, G}), hbuf = signet::zeros({T + 1, N, H});
  Tensor cbuf = signet::zeros({T + 1, N, H}), dh = signet::zeros({N, H}),
         dc = signet::zeros({N, H});
  Tensor dg = signet::empty({T, N, G});
  const cpu::LstmStepsDesc d{T, N, H, false};
  const signet::kernels::GemmDesc df = signet::kernels::row_major_gemm(N, G, H, false, true, 1.0);
  const signet::kernels::GemmDesc db = signet::kernels::row_major_gemm(N, H, G, false, false, 1.0);
  Tensor pw = signet::empty({static_cast<int64_t>(
      std::max(cpu::lstm_steps_packed_w_floats(H, path), cpu::sgemm_packed_bt_floats(df, path)))});
  Tensor pwb = signet::empty({static_cast<int64_t>(cpu::sgemm_packed_bt_floats(db, path))});
  const size_t ws_bytes = std::max({cpu::lstm_steps_workspace_bytes(d, threads, path),
                                    cpu::sgemm_prepacked_t_workspace_bytes(df, threads, path),
                                    cpu::sgemm_prepacked_t_workspace_bytes(db, threads, path)});
  Tensor ws = signet::empty({static_cast<int64_t>(ws_bytes)}, signet::DType::u8);
  float *A = act.data<float>(), *hb = hbuf.data<float>(), *cb = cbuf.data<float>();
  float *DG = dg.data<float>(), *DH = dh.data<float>(), *DC = dc.data<float>();
  const float* W = w.data<float>();
  for (auto _ : state) {
    std::memcpy(A, proj.data<float>(), sizeof(float) * T * N * G);
    if (fused) {
      cpu::lstm_steps_pack_w(H, W, pw.data<float>(), threads, path);
      cpu::lstm_steps_forward(d, nullptr, pw.data<float>(), nullptr, true, A, hb, cb, nullptr,
                              ws.raw_data(), threads, path);
      cpu::lstm_steps_pack_w_backward(H, W, pwb.data<float>(), threads, path);
      cpu::lstm_steps_backward(d, nullptr, pwb.data<float>(), A, cb, dy.data<float>(), false, DH,
                               DC, DG, nullptr, ws.raw_data(), threads, path);
    } else {
      cpu::sgemm_pack_bt(df, W, pw.data<float>(), threads, path);
      for (int64_t t = 0; t < T; ++t) {
        float* g = A + t * N * G;
        cpu::sgemm_prepacked_t(df, hb + t * NH, pw.data<float>(), g, ws.raw_data(), threads, path);
        cpu::lstm_cell_forward_v2({N, H, t}, nullptr, g, cb + t * NH, hb + t * NH, g,
                                  cb + (t + 1) * NH, hb + (t + 1) * NH, nullptr, threads, path);
      }
      cpu::sgemm_pack_bt(db, W, pwb.data<float>(), threads, path);
      for (int64_t t = T - 1; t >= 0; --t) {
        float* g = DG + t * N * G;
        cpu::lstm_cell_backward_v2({N, H, t}, nullptr, A + t * N * G, cb + t * NH,
                                   cb + (t + 1) * NH, dy.data<float>() + t * NH, DH, DC, g, threads,
                                   path);
        if (t > 0)
          cpu::sgemm_prepacked_t(db, g, pwb.data<float>(), DH, ws.raw_data(), threads, path);
      }
    }
    benchmark::DoNotOptimize(DH);
  }
  signet::bench::set_flop_counters(state, 2.0 * N * G * H * (2 * T - 1), threads);
}

// Every case for ours and oneDNN (when found at build time), thread counts 1 and all.
void register_rnn_cases() {
#ifdef SIGNET_BENCH_ONEDNN
  check_agreement();
  const dnnl_version_t* v = dnnl_version();
  benchmark::AddCustomContext(
      "onednn_version",
      std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
#else
  std::fprintf(stderr, "bench_rnn: built without oneDNN (libdnnl-dev); peer skipped\n");
#endif
  for (int t : signet::bench::thread_counts()) {
    for (const LstmCase& c : kLstmCases) {
      for (Dir dir : {Dir::fwd_infer, Dir::fwd_train, Dir::fwd_bwd}) {
        auto name = [&](const char* impl) {
          return signet::bench::case_name("lstm", c.name, dir_name(dir), impl, t);
        };
        signet::bench::configure(
            benchmark::RegisterBenchmark(name("signet").c_str(), bm_signet_lstm, &c, dir, t));
#ifdef SIGNET_BENCH_ONEDNN
        signet::bench::configure(
            benchmark::RegisterBenchmark(name("onednn").c_str(), bm_onednn_lstm, &c, dir, t));
        signet::bench::configure(benchmark::RegisterBenchmark(name("pair_onednn").c_str(),
                                                              bm_pair_onednn_lstm, &c, dir, t))
            ->MinTime(1.0);  // several pairs per repetition: one pair takes 0.1-0.7 s
#endif
      }
    }
    for (const StepCase& c : kStepCases)
      for (const char* impl : {"v3_packed", "prepacked", "prepacked_t", "pack", "pack_t"})
        signet::bench::configure(benchmark::RegisterBenchmark(
            signet::bench::case_name("lstm_step", c.name, c.direction, impl, t).c_str(),
            bm_step_gemm, &c, impl, t));
    for (const StepsCase& c : kStepsCases)
      for (bool fused : {true, false})
        signet::bench::configure(
            benchmark::RegisterBenchmark(signet::bench::case_name("lstm_steps", c.name, "fwd_bwd",
                                                                  fused ? "fused" : "per_step", t)
                                             .c_str(),
                                         bm_lstm_steps, &c, fused, t));
    for (bool backward : {false, true}) {
      const std::string name = signet::bench::case_name("convlstm", "T16_B8_in64_hid64_32x32_k3",
                                                        backward ? "fwd_bwd" : "fwd", "signet", t);
      signet::bench::configure(
          benchmark::RegisterBenchmark(name.c_str(), bm_signet_conv_lstm, backward, t));
    }
#ifdef SIGNET_BENCH_ONEDNN
    signet::bench::configure(benchmark::RegisterBenchmark(
                                 signet::bench::case_name("convlstm", "T16_B8_in64_hid64_32x32_k3",
                                                          "fwd_bwd", "pair_onednn_c16", t)
                                     .c_str(),
                                 bm_pair_onednn_c16_conv_lstm, t))
        ->MinTime(5.0);  // two or more pairs per repetition: one pair takes about 2.4 s
#endif
  }
}

}  // namespace

int main(int argc, char** argv) {
  return signet::bench::run_main(argc, argv, register_rnn_cases);
}
