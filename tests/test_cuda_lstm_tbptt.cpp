// Truncated BPTT and gradient clipping run unchanged on the cuda device: nn::truncated_bptt over a
// cuda nn::LSTM with lengths (on either device) gives the cpu's chunk outputs, per-chunk gradients,
// pre-clip norms and final state; k = T is full BPTT bit for bit on the device; with k < T no
// gradient reaches beyond the chunk; clip_grad_norm_, clip_grad_norm_2_ and clip_grad_value_
// act on the device gradients as on the cpu. Tolerances as in test_cuda_lstm_op.cpp (f32 on both
// sides, another summation order): 2e-5 outputs and state, 1e-4 gradients, 1e-5 relative norms.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/nn/lstm.h"
#include "engine/nn/tbptt.h"
#include "engine/ops.h"
#include "engine/optim/clip_grad.h"
#include "engine/tensor.h"
#include "tests/support/cuda_compare.h"
#include "tests/support/fixtures.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

using nn::LSTM;
using nn::LstmOptions;
using nn::TbpttChunk;
using testing::expect_close;
using testing::random_cpu;

constexpr int64_t kT = 7, kN = 3, kIn = 3, kHidden = 5;

// Two f32 layers, input 3, hidden 5; seeds the init stream so that the module built from them
// has the same weights whichever tests ran before.
LstmOptions small() {
  manual_seed(0);
  LstmOptions o;
  o.input_size = kIn;
  o.hidden_size = kHidden;
  o.num_layers = 2;
  return o;
}

// What a truncated run gave, on the cpu: per chunk its output, pre-clip norm and the clipped
// gradients of every parameter; then the final state.
struct TbpttRun {
  std::vector<Tensor> outputs;
  std::vector<double> norms;
  std::vector<std::vector<Tensor>> grads;
  nn::LstmState last;
};

// Runs m on device over x in chunks of k with lengths on lengths_device; per chunk a fresh
// backward of sum(output * probe) and clip_grad_norm_ to max_norm.
TbpttRun run_chunks(LSTM& m, Device device, const Tensor& lengths, Device lengths_device, int64_t k,
                    double max_norm) {
  m.to(device);
  const Tensor x = random_cpu({kT, kN, kIn}, 11).to(device);
  const Tensor probe = random_cpu({kT, kN, kHidden}, 12, 4.0).to(device);
  TbpttRun r;
  const nn::LstmState last = nn::truncated_bptt(
      m, x, k,
      [&](const TbpttChunk& c) {
        m.zero_grad();
        sum(mul(c.output, probe.narrow(0, c.start, c.steps))).backward();
        r.norms.push_back(optim::clip_grad_norm_(m.parameters(), max_norm));
        r.outputs.push_back(c.output.cpu());
        std::vector<Tensor> g;
        for (const Tensor& p : m.parameters()) g.push_back(p.grad().cpu().clone());
        r.grads.push_back(g);
      },
      {}, lengths.to(lengths_device));
  r.last = {last.h.cpu(), last.c.cpu()};
  return r;
}

// The global 2-norm of the (cpu) tensors gs.
double norm_of(const std::vector<Tensor>& gs) {
  double s = 0;
  for (const Tensor& g : gs)
    for (float v : g.contiguous().to_vector<float>()) s += double(v) * v;
  return std::sqrt(s);
}

// The gradients of m's parameters, on the cpu.
std::vector<std::vector<float>> grads_of(const LSTM& m) {
  std::vector<std::vector<float>> out;
  for (const Tensor& p : m.parameters()) out.push_back(p.grad().cpu().to_vector<float>());
  return out;
}

TEST(CudaLstmTbptt, ChunksGradientsNormsAndStateMatchTheCpu) {
  const Tensor lengths = from_vector(std::vector<int64_t>{7, 5, 2}, {kN});
  for (Device lengths_device : {Device::cpu(), Device::cuda(0)}) {
    SCOPED_TRACE(lengths_device.str());
    LSTM m(small());
    const TbpttRun want = run_chunks(m, Device::cpu(), lengths, Device::cpu(), 3, 0.5);
    const TbpttRun got = run_chunks(m, Device::cuda(0), lengths, lengths_device, 3, 0.5);
    ASSERT_EQ(want.norms.size(), 3u);
    ASSERT_EQ(got.norms.size(), 3u);
    for (size_t c = 0; c < 3; ++c) {
      SCOPED_TRACE("chunk " + std::to_string(c));
      expect_close(got.outputs[c], want.outputs[c], 2e-5, "output");
      EXPECT_NEAR(got.norms[c], want.norms[c], 1e-5 * want.norms[c]);
      // Positive control: the clip acted (norms above 0.5) and left the norm 0.5.
      EXPECT_GT(want.norms[c], 0.5);
      EXPECT_NEAR(norm_of(got.grads[c]), 0.5, 1e-5);
      for (size_t i = 0; i < want.grads[c].size(); ++i)
        expect_close(got.grads[c][i], want.grads[c][i], 1e-4, "grad " + std::to_string(i));
    }
    expect_close(got.last.h, want.last.h, 2e-5, "h_n");
    expect_close(got.last.c, want.last.c, 2e-5, "c_n");
  }
}

TEST(CudaLstmTbptt, KEqualToTIsFullBpttExactlyOnTheDevice) {
  LSTM m(small());
  m.to(Device::cuda(0));
  const Tensor x = random_cpu({kT, kN, kIn}, 13).cuda();
  const Tensor probe = random_cpu({kT, kN, kHidden}, 14).cuda();
  const Tensor lengths = from_vector(std::vector<int64_t>{7, 4, 6}, {kN}).cuda();
  sum(mul(m.forward(x, {}, lengths).first, probe)).backward();
  const auto full = grads_of(m);
  m.zero_grad();
  int chunks = 0;
  nn::truncated_bptt(
      m, x, kT,
      [&](const TbpttChunk& c) {
        ++chunks;
        sum(mul(c.output, probe)).backward();
      },
      {}, lengths);
  EXPECT_EQ(chunks, 1);
  EXPECT_EQ(grads_of(m), full);
}

TEST(CudaLstmTbptt, NoGradientReachesBeyondTheChunkOnTheDevice) {
  LSTM m(small());
  m.to(Device::cuda(0));
  Tensor x = random_cpu({kT, kN, kIn}, 15).cuda().detach();
  x.requires_grad_();
  nn::truncated_bptt(m, x, 3, [&](const TbpttChunk& c) {
    x.zero_grad();
    sum(c.output.narrow(0, c.steps - 1, 1)).backward();  // the chunk's last step only
    const std::vector<float> g = x.grad().cpu().to_vector<float>();
    for (int64_t t = 0; t < kT; ++t) {
      double s = 0;
      for (int64_t j = 0; j < kN * kIn; ++j) s += std::abs(g[size_t(t * kN * kIn + j)]);
      if (t >= c.start && t < c.start + c.steps)
        EXPECT_GT(s, 0) << "chunk " << c.index << " step " << t;
      else
        EXPECT_EQ(s, 0) << "chunk " << c.index << " step " << t;
    }
  });
}

TEST(CudaLstmTbptt, DeviceNormClipAndValueClipMatchTheCpu) {
  LSTM m(small());
  const Tensor x = random_cpu({kT, kN, kIn}, 16, 3.0);
  std::vector<std::vector<Tensor>> grads;
  std::vector<double> norms;
  for (Device d : {Device::cpu(), Device::cuda(0)}) {
    m.to(d);
    m.zero_grad();
    sum(m.forward(x.to(d)).first * 10.0).backward();
    const Tensor norm = optim::clip_grad_norm_2_(m.parameters(), 0.25);
    EXPECT_EQ(norm.device(), d);
    norms.push_back(norm.cpu().to_vector<double>()[0]);
    optim::clip_grad_value_(m.parameters(), 0.01);
    std::vector<Tensor> g;
    for (const Tensor& p : m.parameters()) g.push_back(p.grad().cpu().clone());
    grads.push_back(g);
  }
  EXPECT_GT(norms[0], 0.25);
  EXPECT_NEAR(norms[1], norms[0], 1e-5 * norms[0]);
  int clamped = 0;
  for (size_t i = 0; i < grads[0].size(); ++i) {
    expect_close(grads[1][i], grads[0][i], 1e-6, "clipped grad " + std::to_string(i));
    for (float v : grads[0][i].to_vector<float>()) clamped += std::abs(v) == 0.01f;
  }
  EXPECT_GT(clamped, 0);
}

}  // namespace
}  // namespace signet
