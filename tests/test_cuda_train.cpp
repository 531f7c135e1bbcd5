// Two epochs of sign_cnn (conv, ReLU, max-pool, linear, dropout 0.25, cross-entropy, Adam) on a
// tiny synthetic set — 32 random 16x16 u8 images of 3 classes, batch 8, the same seed, init and
// dropout streams — on the cpu and on cuda (the simt backend in CI): the per-batch losses and
// the trained parameters agree. (16x16 and 32 images rather than 28x28 and 64: simt runs every
// cuda thread as a fiber, and the larger set took 30 s on a loaded CI core; this takes seconds.)
// Tolerance: both runs do the same math in f32 but sum in other orders (the cpu's packed GEMM
// and direct convolution against the naive cuda kernels), ~1e-7 relative per op, which Adam's
// steps carry forward. Measured over the 8 steps: losses within 1e-7 relative, parameters within
// 1.2e-6 absolute (fc1.weight). The bounds, 1e-5 relative on the losses and 2e-5 on the
// parameters, leave 10x for FMA contraction on a real GPU, while a wrong kernel (a gradient off,
// another dropout mask) moves parameters by about lr = 3e-3.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/ops.h"
#include "engine/ops/loss.h"
#include "engine/optim/adam.h"
#include "engine/random.h"
#include "engine/tensor.h"
#include "models/registry.h"
#include "tests/support/fixtures.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

constexpr int64_t kImages = 32, kSide = 16, kClasses = 3, kBatch = 8, kEpochs = 2;
constexpr uint64_t kSeed = 7;

// The synthetic set: u8 images (kImages, 1, kSide, kSide) and i64 labels, from a fixed stream.
std::pair<Tensor, Tensor> tiny_set() {
  RngStream s = augment_stream(kSeed, 0, 0);
  std::vector<float> u(size_t(kImages * kSide * kSide));
  s.uniform(u.data(), int64_t(u.size()));
  std::vector<uint8_t> pixels(u.size());
  for (size_t i = 0; i < u.size(); ++i) pixels[i] = uint8_t(u[i] * 255.0f);
  std::vector<int64_t> labels(kImages);
  for (int64_t i = 0; i < kImages; ++i) labels[size_t(i)] = int64_t(s.uniform_int(kClasses));
  return {from_vector(pixels, {kImages, 1, kSide, kSide}), from_vector(labels, {kImages})};
}

// What a run leaves: the loss of every batch and the trained parameters (on the cpu).
struct TrainRun {
  std::vector<double> losses;
  std::vector<std::pair<std::string, Tensor>> params;
};

// Trains a fresh sign_cnn on device for kEpochs.
TrainRun train(Device device) {
  manual_seed(kSeed);
  models::ModelConfig cfg;
  cfg.classes = kClasses;
  cfg.dropout = 0.25;
  cfg.height = cfg.width = kSide;
  auto model = models::create_model("sign_cnn", cfg);
  model->to(device);
  model->train();
  optim::AdamOptions ao;
  ao.lr = 3e-3;
  optim::Adam adam({optim::group_of(*model)}, ao);
  const auto [images, labels] = tiny_set();
  const Tensor x_all = images.to(device).to(DType::f32) / 255.0;
  const Tensor y_all = labels.to(device);
  TrainRun run;
  uint64_t step = 0;
  for (int64_t epoch = 0; epoch < kEpochs; ++epoch) {
    for (int64_t b = 0; b < kImages / kBatch; ++b) {
      // Epoch 1 visits the batches in reverse order.
      const int64_t at = (epoch % 2 == 0 ? b : kImages / kBatch - 1 - b) * kBatch;
      RngStream drop = dropout_stream(kSeed, step++);
      const Tensor logits = model->forward(x_all.narrow(0, at, kBatch), drop);
      const Tensor loss = cross_entropy(logits, y_all.narrow(0, at, kBatch));
      adam.zero_grad();
      loss.backward();
      adam.step();
      run.losses.push_back(loss.cpu().item());
    }
  }
  for (const auto& [name, p] : model->named_parameters()) run.params.emplace_back(name, p.cpu());
  return run;
}

TEST(CudaTrain, SignCnnLossCurveMatchesCpu) {
  const TrainRun cpu_run = train(Device::cpu());
  const TrainRun gpu_run = train(Device::cuda(0));
  const std::vector<double>&cpu = cpu_run.losses, &gpu = gpu_run.losses;
  ASSERT_EQ(gpu.size(), cpu.size());
  ASSERT_EQ(cpu.size(), size_t(kEpochs * kImages / kBatch));
  for (size_t i = 0; i < cpu.size(); ++i) {
    EXPECT_TRUE(std::isfinite(cpu[i])) << "batch " << i;
    EXPECT_NEAR(gpu[i], cpu[i], 1e-5 * std::fabs(cpu[i])) << "batch " << i;
  }
  EXPECT_NE(cpu.front(), cpu.back());  // the model trained: the curve moved
  ASSERT_EQ(gpu_run.params.size(), cpu_run.params.size());
  for (size_t i = 0; i < cpu_run.params.size(); ++i)
    testing::expect_close(gpu_run.params[i].second, cpu_run.params[i].second, 2e-5,
                          "trained " + cpu_run.params[i].first);
}

}  // namespace
}  // namespace signet
