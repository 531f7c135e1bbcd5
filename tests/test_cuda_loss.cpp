// Losses on cuda tensors (nll, cross-entropy with class weights, ignore_index and label
// smoothing, spatial targets, focal, per-step weighted sequence cross-entropy with lengths, BCE
// with logits, weight, pos_weight and mask) against the same losses on the cpu in f32, values and
// gradients with respect to the logits, on odd shapes. Tolerance: the device's expf/logf differ
// from the host's by an ulp or two and its sums run in another order (a block tree in f32, the
// cpu in double), so each value may differ by a few f32 ulps of its magnitude times the terms
// summed: 2e-5 absolute on the O(1) means and gradients, 2e-4 on sums of ~100 terms.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "engine/cuda_device.h"
#include "engine/ops.h"
#include "engine/ops/loss.h"
#include "engine/tensor.h"
#include "kernels/cuda/simt/cuda_api.h"
#include "tests/support/cuda_compare.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

using testing::expect_close;
using testing::expect_error;
using testing::random_cpu;
using testing::uniform_floats;

const Device kGpu = Device::cuda(0);

// Class indices in [0, classes) of the given shape, with ignore at every fifth position.
Tensor targets(const Shape& shape, int64_t classes, unsigned seed, int64_t ignore = -100) {
  std::vector<float> u = uniform_floats(size_t(shape_numel(shape)), seed);
  std::vector<int64_t> t(u.size());
  for (size_t i = 0; i < u.size(); ++i)
    t[i] = i % 5 == 3 ? ignore
                      : std::min<int64_t>(int64_t((u[i] + 1.0f) / 2.0f * classes), classes - 1);
  return from_vector(t, shape);
}

// Runs loss(x) with x = logits on the cpu and on cuda (requiring grad), backpropagates
// sum(loss * upstream) and compares the values and the gradients of x within tol.
void expect_loss_matches(const Tensor& logits, const std::function<Tensor(const Tensor&)>& loss,
                         double tol, const std::string& what) {
  Tensor xs[2] = {logits.detach(), logits.to(kGpu).detach()};
  Tensor ys[2];
  for (int i = 0; i < 2; ++i) {
    xs[i].requires_grad_();
    ys[i] = loss(xs[i]);
    const Tensor up = random_cpu(ys[i].shape(), 99).to(xs[i].device()) + 2.0;
    sum(mul(ys[i], up)).backward();
  }
  ASSERT_EQ(ys[1].device(), kGpu) << what;
  expect_close(ys[1].cpu(), ys[0], tol, what);
  ASSERT_EQ(xs[1].grad().device(), kGpu) << what;
  expect_close(xs[1].grad().cpu(), xs[0].grad(), tol, what + " gradient");
}

TEST(CudaLoss, NllLossMatchesCpu) {
  const Tensor logp = log_softmax(random_cpu({7, 5}, 1, 3.0), 1).detach();
  const Tensor t = targets({7}, 5, 2);
  const Tensor w = random_cpu({5}, 3) + 1.5;
  for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean}) {
    expect_loss_matches(
        logp,
        [&](const Tensor& x) {
          ClassLossOptions o;
          o.weight = w.to(x.device());
          o.reduction = r;
          return nll_loss(x, t.to(x.device()), o);
        },
        2e-5, "nll_loss reduction " + std::to_string(int(r)));
  }
}

TEST(CudaLoss, CrossEntropyWeightsIgnoreAndSmoothingMatchCpu) {
  const Tensor x = random_cpu({9, 7}, 4, 3.0);
  const Tensor t = targets({9}, 7, 5, 2);
  const Tensor w = random_cpu({7}, 6) + 1.5;
  for (double eps : {0.0, 0.1}) {
    for (Reduction r : {Reduction::none, Reduction::mean}) {
      expect_loss_matches(
          x,
          [&](const Tensor& v) {
            ClassLossOptions o;
            o.weight = w.to(v.device());
            o.ignore_index = 2;
            o.label_smoothing = eps;
            o.reduction = r;
            return cross_entropy(v, t.to(v.device()), o);
          },
          2e-5, "cross_entropy eps " + std::to_string(eps));
    }
  }
}

TEST(CudaLoss, SpatialCrossEntropyMatchesCpu) {
  const Tensor x = random_cpu({3, 4, 5, 2}, 7, 2.0);
  const Tensor t = targets({3, 5, 2}, 4, 8);
  expect_loss_matches(
      x,
      [&](const Tensor& v) {
        ClassLossOptions o;
        o.reduction = Reduction::sum;
        return cross_entropy(v, t.to(v.device()), o);
      },
      2e-4, "spatial cross_entropy sum");
}

TEST(CudaLoss, FocalLossMatchesCpu) {
  const Tensor x = random_cpu({11, 3}, 9, 3.0);
  const Tensor t = targets({11}, 3, 10);
  const Tensor w = random_cpu({3}, 11) + 1.2;
  for (bool weighted : {false, true}) {
    expect_loss_matches(
        x,
        [&](const Tensor& v) {
          FocalLossOptions o;
          o.gamma = 1.5;
          o.alpha = 0.25;
          if (weighted) o.weight = w.to(v.device());
          return focal_loss(v, t.to(v.device()), o);
        },
        2e-5, weighted ? "focal with class weights" : "focal with alpha");
  }
}

TEST(CudaLoss, SequenceCrossEntropyWithStepWeightsAndLengthsMatchesCpu) {
  const int64_t steps = 6, batch = 3, classes = 5;
  const Tensor x = random_cpu({steps, batch, classes}, 12, 2.0);
  const Tensor t = targets({steps, batch}, classes, 13);
  const Tensor lengths = from_vector(std::vector<int64_t>{6, 2, 4}, {batch});
  expect_loss_matches(
      x,
      [&](const Tensor& v) {
        SequenceLossOptions o;
        o.step_weights = linear_step_weights(steps).to(v.device());
        o.lengths = lengths.to(v.device());
        o.label_smoothing = 0.05;
        return sequence_cross_entropy(v, t.to(v.device()), o);
      },
      2e-5, "sequence_cross_entropy");
}

// Targets past a sequence's length are never read as classes (here out of range), on the device
// as on the cpu: a kernel sets them to ignore_index.
TEST(CudaLoss, PaddedTargetsAreIgnoredOnTheDevice) {
  const int64_t steps = 5, batch = 3, classes = 4;
  const Tensor x = random_cpu({steps, batch, classes}, 15, 2.0);
  std::vector<int64_t> t = targets({steps, batch}, classes, 16).to_vector<int64_t>();
  t[3 * batch + 1] = 99;  // sample 1 has 2 steps
  t[4 * batch + 2] = -7;  // sample 2 has 4 steps
  const Tensor tg = from_vector(t, {steps, batch});
  const Tensor lengths = from_vector(std::vector<int64_t>{5, 2, 4}, {batch});
  expect_loss_matches(
      x,
      [&](const Tensor& v) {
        SequenceLossOptions o;
        o.lengths = lengths.to(v.device());
        return sequence_cross_entropy(v, tg.to(v.device()), o);
      },
      2e-5, "sequence_cross_entropy with out-of-range padding");
}

TEST(CudaLoss, BceWithLogitsMatchesCpu) {
  const Tensor x = random_cpu({4, 3, 5}, 14, 6.0);
  const Tensor y = (random_cpu({4, 3, 5}, 15) + 1.0) * 0.5;
  const Tensor w = random_cpu({3, 1}, 16) + 1.5, pw = random_cpu({5}, 17) + 2.0;
  std::vector<uint8_t> m(12);
  for (size_t i = 0; i < m.size(); ++i) m[i] = i % 4 != 1;
  const Tensor mask = from_vector(m, {4, 3});
  for (bool options : {false, true}) {
    for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean}) {
      expect_loss_matches(
          x,
          [&](const Tensor& v) {
            BceOptions o;
            if (options) {
              o.weight = w.to(v.device());
              o.pos_weight = pw.to(v.device());
              o.mask = mask.to(v.device());
            }
            o.reduction = r;
            return binary_cross_entropy_with_logits(v, y.to(v.device()), o);
          },
          r == Reduction::sum ? 2e-4 : 2e-5,
          std::string("bce with logits") + (options ? ", weight, pos_weight, mask" : ""));
    }
  }
}

TEST(CudaLoss, ErrorsNameBothDevicesAndBadTargets) {
  const Tensor x = random_cpu({2, 3}, 18).to(kGpu);
  expect_error(
      [&] {
        cross_entropy(x, from_vector(std::vector<int64_t>{0, 1}));
      },
      {"cross_entropy", "input on cuda:0", "target on cpu"});
}

// A bad class index on the device is found by a kernel and reported at the next read from the
// device, with the CPU's message; until then the loss runs on without a host round trip, and the
// bad element's loss is NaN.
TEST(CudaLoss, BadTargetsAreReportedAtTheNextRead) {
  const Tensor x = random_cpu({4, 3}, 18).to(kGpu);
  for (const char* op : {"cross_entropy", "nll_loss", "focal_loss"}) {
    const Tensor tg = from_vector(std::vector<int64_t>{0, 2, -100, 3}).to(kGpu);
    ClassLossOptions none;
    none.reduction = Reduction::none;
    Tensor loss;
    const std::string name = op;
    if (name == "cross_entropy") loss = cross_entropy(x, tg, none);
    if (name == "nll_loss") loss = nll_loss(log_softmax(x, 1), tg, none);
    if (name == "focal_loss") loss = focal_loss(x, tg, FocalLossOptions{});
    const std::string head = name + ": target 3 at position [3] is out of range for 3 classes";
    expect_error([&] { loss.cpu(); },
                 {head.c_str(), "found on cuda:0", "next read from the device"});
    if (name == "focal_loss") continue;  // reduced: the NaN is in the mean
    const std::vector<float> values = loss.cpu().to_vector<float>();  // reported once
    EXPECT_FALSE(std::isnan(values[0])) << op;
    EXPECT_EQ(values[2], 0.0f) << op;
    EXPECT_TRUE(std::isnan(values[3])) << op;
  }
}

// Bad lengths and mask values on the device are found by a kernel and reported at the next read
// from the device with the CPU's message (op, position, value); until then the loss runs on
// without a host round trip, and the bad elements' losses are NaN.
TEST(CudaLoss, BadLengthsAndMasksAreReportedAtTheNextRead) {
  const int64_t steps = 4, batch = 3, classes = 3;
  const Tensor x = random_cpu({steps, batch, classes}, 20).to(kGpu);
  const Tensor t = targets({steps, batch}, classes, 21).to(kGpu);
  for (int64_t bad : {5, -1}) {
    SequenceLossOptions o;
    o.lengths = from_vector(std::vector<int64_t>{4, bad, 2}).to(kGpu);
    Tensor loss = sequence_cross_entropy(x, t, o);
    const std::string head =
        "sequence_cross_entropy: lengths[1] = " + std::to_string(bad) + " is outside [0, 4]";
    expect_error([&] { loss.cpu(); }, {head.c_str(), "found on cuda:0", "next read"});
    EXPECT_TRUE(std::isnan(loss.cpu().item())) << "the mean over a NaN row";
  }
  SequenceLossOptions m;
  m.mask = from_vector(std::vector<uint8_t>{1, 1, 1, 1, 0, 1, 1, 2, 1, 0, 0, 1}, {steps, batch})
               .to(kGpu);
  Tensor seq = sequence_cross_entropy(x, t, m);  // its mask is checked in (N, T) order
  expect_error(
      [&] { seq.cpu(); },
      {"sequence_cross_entropy: mask value 2 at position [1, 2] is not 0 or 1", "found on cuda:0"});
  const Tensor y = (random_cpu({steps, batch}, 22) + 1.0).to(kGpu) * 0.5;
  BceOptions b;
  b.reduction = Reduction::none;
  b.mask = from_vector(std::vector<float>{1, 0.5f, 1, INFINITY, 1, 1, 1, 1, -0.25f, 1, 1, 0},
                       {steps, batch})
               .to(kGpu);
  Tensor bce = binary_cross_entropy_with_logits(x.narrow(2, 0, 1).squeeze(2), y, b);
  expect_error([&] { bce.cpu(); },
               {"binary_cross_entropy_with_logits: mask value inf at position [1, 0] is not a "
                "finite weight >= 0",
                "found on cuda:0"});
  const std::vector<float> values = bce.cpu().to_vector<float>();  // reported once: the first
  for (size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(std::isnan(values[i]), i == 3 || i == 8) << "element " << i;
}

// In the host SIMT backend queued work runs only when something waits for it: a loss call that
// read its targets on the host would run the earlier queued in-place multiply.
TEST(CudaLoss, ClassLossesDoNotWaitForTheDevice) {
  if (cuda_backend_name() != "simt") GTEST_SKIP() << "queue laziness is the simt backend's";
  Tensor marker = full({4}, 1.0, DType::f32, kGpu);
  ASSERT_EQ(marker.cpu().to_vector<float>()[0], 1.0f);
  const Tensor x = random_cpu({4, 3}, 19).to(kGpu);
  const Tensor tg = from_vector(std::vector<int64_t>{0, 2, 1, 1}).to(kGpu);
  marker.mul_(3.0);
  Tensor loss = cross_entropy(x, tg);
  float seen = 0.0f;
  ASSERT_EQ(simt::peek_device_memory(&seen, marker.raw_data(), sizeof seen), simt::cudaSuccess);
  EXPECT_EQ(seen, 1.0f) << "the loss call synchronised with the device";
  EXPECT_FALSE(std::isnan(loss.cpu().item()));
  EXPECT_EQ(marker.cpu().to_vector<float>()[0], 3.0f);
}

// The same for a sequence loss's lengths and mask on the device: they are not read on the host.
TEST(CudaLoss, SequenceLossPaddingDoesNotWaitForTheDevice) {
  if (cuda_backend_name() != "simt") GTEST_SKIP() << "queue laziness is the simt backend's";
  const int64_t steps = 4, batch = 3, classes = 3;
  const Tensor x = random_cpu({steps, batch, classes}, 23).to(kGpu);
  const Tensor t = targets({steps, batch}, classes, 24).to(kGpu);
  SequenceLossOptions by_len, by_mask;
  by_len.lengths = from_vector(std::vector<int64_t>{4, 1, 3}).to(kGpu);
  by_mask.mask = full({steps, batch}, 0.5, DType::f32, kGpu);
  for (const SequenceLossOptions* o : {&by_len, &by_mask}) {
    Tensor marker = full({4}, 1.0, DType::f32, kGpu);
    ASSERT_EQ(marker.cpu().to_vector<float>()[0], 1.0f);
    marker.mul_(3.0);
    Tensor loss = sequence_cross_entropy(x, t, *o);
    float seen = 0.0f;
    ASSERT_EQ(simt::peek_device_memory(&seen, marker.raw_data(), sizeof seen), simt::cudaSuccess);
    EXPECT_EQ(seen, 1.0f) << "the loss call synchronised with the device";
    EXPECT_FALSE(std::isnan(loss.cpu().item()));
  }
}

}  // namespace
}  // namespace signet
