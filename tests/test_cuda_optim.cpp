// Fused optimiser steps on cuda (SGD with momentum, dampening, Nesterov and weight decay; Adam
// and AdamW with amsgrad; RMSProp centered with momentum) against the same optimisers on the cpu
// over four steps of fixed gradients on odd-sized parameters, state buffers included; and the
// two-pass global-norm clip on the device against the cpu's. Tolerance: every step is the
// reference's per-element arithmetic in f32; the device may contract a * b + c into one fma
// and round sqrtf and division differently by an ulp, and four steps can compound that a few
// times: 2e-6 absolute on O(1) parameters and moments (f32 ulp at 1 is 1.2e-7).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "engine/nn/linear.h"
#include "engine/ops.h"
#include "engine/optim/adam.h"
#include "engine/optim/clip_grad.h"
#include "engine/optim/rmsprop.h"
#include "engine/optim/sgd.h"
#include "engine/tensor.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

using optim::ParamGroup;
using testing::expect_close;
using testing::expect_error;
using testing::uniform_floats;

const Device kGpu = Device::cuda(0);
constexpr double kTol = 2e-6;

// Random f32 values in [-1, 1) of the given shape on device.
Tensor random_on(const Shape& shape, unsigned seed, Device device = Device::cpu()) {
  return from_vector(uniform_floats(size_t(shape_numel(shape)), seed), shape).to(device);
}

using MakeOptimizer = std::function<std::unique_ptr<optim::Optimizer>(std::vector<ParamGroup>)>;

// Runs four steps of make's optimiser on two parameters (odd sizes) with the same gradients on
// the cpu and on cuda, then compares the parameters and every state buffer.
void expect_steps_match(const MakeOptimizer& make, const std::string& what) {
  const Shape shapes[2] = {{37, 3}, {301}};
  std::vector<Tensor> params[2];
  std::unique_ptr<optim::Optimizer> opt[2];
  for (int dev = 0; dev < 2; ++dev) {
    const Device device = dev == 0 ? Device::cpu() : kGpu;
    ParamGroup g;
    for (int i = 0; i < 2; ++i) {
      Tensor p = random_on(shapes[i], 10 + i, device);
      p.requires_grad_();
      params[dev].push_back(p);
      g.params.emplace_back("p" + std::to_string(i), p);
    }
    opt[dev] = make({g});
    for (int step = 0; step < 4; ++step) {
      for (int i = 0; i < 2; ++i)
        params[dev][i].set_grad(random_on(shapes[i], 100 + 10 * step + i, device) * 0.5);
      opt[dev]->step();
    }
  }
  for (int i = 0; i < 2; ++i) {
    const std::string name = "p" + std::to_string(i);
    ASSERT_EQ(params[1][i].device(), kGpu);
    expect_close(params[1][i].cpu(), params[0][i].detach(), kTol, what + " " + name);
    const optim::ParamState* cpu = opt[0]->state(name);
    const optim::ParamState* gpu = opt[1]->state(name);
    ASSERT_TRUE(cpu && gpu) << what;
    EXPECT_EQ(gpu->step, cpu->step);
    ASSERT_EQ(gpu->buffers.size(), cpu->buffers.size()) << what;
    for (const auto& [key, buf] : cpu->buffers) {
      const Tensor& other = gpu->buffers.at(key);
      EXPECT_EQ(other.device(), kGpu) << what << " " << key;
      expect_close(other.cpu(), buf, kTol, what + " " + name + " " + key);
    }
  }
}

TEST(CudaOptim, SgdMatchesCpu) {
  optim::SgdOptions plain;
  plain.lr = 0.1;
  expect_steps_match([&](auto g) { return std::make_unique<optim::Sgd>(g, plain); }, "sgd");
  optim::SgdOptions mom = plain;
  mom.momentum = 0.9;
  mom.dampening = 0.1;
  mom.weight_decay = 0.01;
  expect_steps_match([&](auto g) { return std::make_unique<optim::Sgd>(g, mom); },
                     "sgd momentum dampening weight decay");
  optim::SgdOptions nesterov = plain;
  nesterov.momentum = 0.8;
  nesterov.nesterov = true;
  expect_steps_match([&](auto g) { return std::make_unique<optim::Sgd>(g, nesterov); },
                     "sgd nesterov");
}

TEST(CudaOptim, AdamAndAdamWMatchCpu) {
  optim::AdamOptions o;
  o.lr = 0.01;
  o.weight_decay = 0.05;
  expect_steps_match([&](auto g) { return std::make_unique<optim::Adam>(g, o); }, "adam l2");
  o.amsgrad = true;
  expect_steps_match([&](auto g) { return std::make_unique<optim::Adam>(g, o); }, "adam amsgrad");
  expect_steps_match([&](auto g) { return std::make_unique<optim::AdamW>(g, o); }, "adamw amsgrad");
}

TEST(CudaOptim, RmspropMatchesCpu) {
  optim::RmspropOptions o;
  o.lr = 0.01;
  o.weight_decay = 0.02;
  expect_steps_match([&](auto g) { return std::make_unique<optim::Rmsprop>(g, o); }, "rmsprop");
  o.centered = true;
  o.momentum = 0.9;
  expect_steps_match([&](auto g) { return std::make_unique<optim::Rmsprop>(g, o); },
                     "rmsprop centered momentum");
}

// State made before Module::to follows the parameters to the device at the next step (and the
// two steps equal two on the cpu); a gradient left elsewhere is an error.
TEST(CudaOptim, StateFollowsTheModuleToTheDevice) {
  nn::Linear moved(4, 3), stayed(4, 3);
  stayed.load_state_dict({{"weight", moved.weight().clone()}, {"bias", moved.bias().clone()}});
  optim::Adam adam_moved({optim::group_of(moved)}, {}), adam_stayed({optim::group_of(stayed)}, {});
  for (int step = 0; step < 2; ++step) {
    if (step == 1) moved.to(kGpu);
    for (nn::Linear* m : {&moved, &stayed})
      for (const Tensor& p : m->parameters())
        p.set_grad(random_on(p.shape(), 30 + step, p.device()));
    adam_moved.step();
    adam_stayed.step();
  }
  const Tensor& m = adam_moved.state("weight")->buffers.at("exp_avg");
  EXPECT_EQ(m.device(), kGpu);
  expect_close(m.cpu(), adam_stayed.state("weight")->buffers.at("exp_avg"), kTol, "exp_avg");
  expect_close(moved.weight().cpu(), stayed.weight().detach(), kTol, "weight after the move");
  moved.weight().set_grad(ones({3, 4}));
  expect_error([&] { adam_moved.step(); }, {"Adam", "gradient of 'weight'", "cpu", "cuda:0"});
}

// Gradients of params set to the given values (on device).
std::vector<Tensor> params_with_grads(const std::vector<Tensor>& grads) {
  std::vector<Tensor> params;
  for (const Tensor& g : grads) {
    Tensor p = zeros(g.shape(), g.dtype(), g.device());
    p.set_grad(g.clone());
    params.push_back(p);
  }
  return params;
}

// Norms over more elements than one block's share and more partial slots than one per tensor;
// clipped (max_norm below the norm) and not clipped (above it).
TEST(CudaClip, GlobalNormMatchesCpu) {
  std::vector<Tensor> grads = {random_on({70001}, 21) * 3.0, random_on({5, 7}, 22),
                               random_on({1}, 23)};
  for (double max_norm : {1.0, 1000.0}) {
    std::vector<Tensor> dgrads;
    for (const Tensor& g : grads) dgrads.push_back(g.to(kGpu));
    std::vector<Tensor> cpu = params_with_grads(grads), gpu = params_with_grads(dgrads);
    const double want = optim::clip_grad_norm_(cpu, max_norm);
    const double got = optim::clip_grad_norm_(gpu, max_norm);
    EXPECT_NEAR(got, want, want * 1e-6) << "max_norm " << max_norm;
    for (size_t i = 0; i < grads.size(); ++i)
      expect_close(gpu[i].grad().cpu(), cpu[i].grad(), 1e-6, "clipped gradient");
  }
}

// The device form leaves the norm on the device; repeated runs agree bitwise.
TEST(CudaClip, NormStaysOnTheDeviceAndIsDeterministic) {
  const Tensor g = random_on({4099}, 24, kGpu);
  std::vector<double> norms;
  for (int i = 0; i < 2; ++i) {
    const Tensor norm = optim::clip_grad_norm_2_(params_with_grads({g}), 0.5);
    ASSERT_EQ(norm.device(), kGpu);
    EXPECT_EQ(norm.dim(), 0);
    norms.push_back(norm.cpu().item());
  }
  EXPECT_EQ(norms[0], norms[1]);
}

// A NaN gradient gives a NaN norm and leaves every gradient unchanged, or throws on request.
TEST(CudaClip, NonFiniteNormLeavesGradientsUnchanged) {
  std::vector<float> v = uniform_floats(50, 25);
  v[17] = NAN;
  const Tensor g = from_vector(v, {50}).to(kGpu);
  std::vector<Tensor> params = params_with_grads({g, random_on({9}, 26, kGpu) * 100.0});
  const Tensor before = params[1].grad().cpu();
  EXPECT_TRUE(std::isnan(optim::clip_grad_norm_(params, 1.0)));
  EXPECT_EQ(params[1].grad().cpu().to_vector<float>(), before.to_vector<float>());
  expect_error([&] { optim::clip_grad_norm_(params, 1.0, 2.0, true); },
               {"clip_grad_norm_", "nan", "unchanged"});
}

// Other norms of device gradients run through the f32 device ops.
TEST(CudaClip, InfinityNormOnTheDevice) {
  const Tensor g = random_on({33}, 27);
  std::vector<Tensor> cpu = params_with_grads({g}), gpu = params_with_grads({g.to(kGpu)});
  EXPECT_NEAR(optim::clip_grad_norm_(gpu, 0.5, optim::kInfNorm),
              optim::clip_grad_norm_(cpu, 0.5, optim::kInfNorm), 1e-7);
  expect_close(gpu[0].grad().cpu(), cpu[0].grad(), 1e-7, "inf-norm clipped gradient");
}

}  // namespace
}  // namespace signet
