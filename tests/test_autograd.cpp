// The tape: accumulation, multi-output nodes, detach, grad mode, freed graphs, in-place checks.
#include <gtest/gtest.h>

#include <thread>

#include "engine/allocator.h"
#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "tests/support/expect_error.h"

namespace signet {
namespace {

using testing::expect_error;

TEST(Autograd, TensorUsedTwiceReceivesBothGradients) {
  Tensor x = from_vector<double>({1.0, -2.0, 3.0}).requires_grad_();
  Tensor y = sum(x * x + x * 3.0);
  y.backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5.0, -1.0, 9.0}));
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = from_vector<double>({2.0}).requires_grad_();
  sum(x * 4.0).backward();
  sum(x * 4.0).backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 8.0);
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, BackwardWithExplicitGradient) {
  Tensor x = from_vector<double>({1.0, 2.0}).requires_grad_();
  Tensor y = x * 3.0;
  y.backward(from_vector<double>({10.0, -1.0}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{30.0, -3.0}));
}

// A leaf's .grad never aliases a tensor someone else holds: the caller's gradient (the root
// itself a leaf, or passed through by add), or the one gradient add hands to both its inputs.
TEST(Autograd, LeafGradientsDoNotAliasOtherTensors) {
  Tensor x = from_vector<double>({1.0, 2.0}).requires_grad_();
  Tensor dy = from_vector<double>({5.0, 6.0});
  x.backward(dy);
  Tensor a = from_vector<double>({1.0, 2.0}).requires_grad_();
  Tensor b = from_vector<double>({3.0, 4.0}).requires_grad_();
  Tensor da = from_vector<double>({7.0, 8.0});
  (a + b).backward(da);
  dy.fill_(0.0);
  da.fill_(0.0);
  a.grad().fill_(-1.0);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5.0, 6.0}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{7.0, 8.0}));
}

// A gradient nothing else holds becomes the leaf's .grad without a copy: backward through
// neg(x) allocates what neg(dy) allocates, and nothing more.
TEST(Autograd, LeafTakesAGradientNobodyElseHolds) {
  auto allocations = [] { return CpuAllocator::instance().stats().allocations; };
  Tensor x = from_vector<double>({1.0, 2.0}).requires_grad_();
  Tensor y = neg(x);
  Tensor dy = from_vector<double>({1.0, -1.0});
  const uint64_t a0 = allocations();
  Tensor negated = neg(dy);
  const uint64_t for_neg = allocations() - a0;
  const uint64_t a1 = allocations();
  y.backward(dy);
  EXPECT_EQ(allocations() - a1, for_neg);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{-1.0, 1.0}));
}

TEST(Autograd, DetachAndNoGradStopGradients) {
  Tensor x = from_vector<double>({1.0, 2.0}).requires_grad_();
  Tensor d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.storage().get(), x.storage().get());
  Tensor y = sum(x * d);
  y.backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1.0, 2.0}));
  {
    NoGradGuard guard;
    Tensor z = x * 2.0;
    EXPECT_FALSE(z.requires_grad());
    EXPECT_EQ(z.grad_fn(), nullptr);
  }
  EXPECT_TRUE(GradMode::enabled());
}

TEST(Autograd, GradModeIsThreadLocal) {
  NoGradGuard guard;
  bool other = false;
  std::thread t([&] { other = GradMode::enabled(); });
  t.join();
  EXPECT_TRUE(other);
  EXPECT_FALSE(GradMode::enabled());
}

TEST(Autograd, SecondBackwardOverFreedGraphIsAnError) {
  Tensor x = from_vector<double>({1.0, 2.0}).requires_grad_();
  Tensor y = sum(x * x);
  y.backward();
  expect_error([&] { y.backward(); }, {"second time", "retain_graph"});
}

TEST(Autograd, RetainGraphAllowsSecondBackward) {
  Tensor x = from_vector<double>({1.0, 2.0}).requires_grad_();
  Tensor y = sum(x * x);
  y.backward(Tensor(), true);
  y.backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{4.0, 8.0}));
}

TEST(Autograd, BackwardOnTensorWithoutGradIsAnError) {
  Tensor x = from_vector<double>({1.0, 2.0});
  expect_error([&] { sum(x).backward(); }, {"does not require grad"});
}

TEST(Autograd, ImplicitGradientOnlyForOneElement) {
  Tensor x = from_vector<double>({1.0, 2.0}).requires_grad_();
  expect_error([&] { (x * 2.0).backward(); }, {"one-element", "[2]"});
}

TEST(Autograd, InPlaceChangeOfSavedTensorIsCaught) {
  Tensor x = from_vector<double>({1.0, 2.0}).requires_grad_();
  Tensor w = from_vector<double>({3.0, 4.0});
  Tensor y = sum(x * w);
  w.mul_(2.0);
  expect_error([&] { y.backward(); }, {"MulBackward", "modified by an in-place operation"});
}

TEST(Autograd, InPlaceChangeOfSavedOutputIsCaught) {
  Tensor x = from_vector<double>({0.5, 1.0}).requires_grad_();
  Tensor y = exp(x);
  Tensor loss = sum(y);
  {
    NoGradGuard guard;
    y.add_(from_vector<double>({1.0, 1.0}));
  }
  expect_error([&] { loss.backward(); }, {"ExpBackward", "in-place"});
}

TEST(Autograd, InPlaceOnTensorRequiringGradIsRefused) {
  Tensor x = from_vector<double>({1.0}).requires_grad_();
  expect_error([&] { x.mul_(2.0); }, {"mul_", "requires grad"});
}

TEST(Autograd, InPlaceThroughNoGradViewOfLeafIsRefused) {
  Tensor x = from_vector<double>({1.0, 2.0, 3.0}).requires_grad_();
  Tensor v;
  {
    NoGradGuard guard;
    v = x.slice(0, 0, 2);
    v.fill_(0.5);
  }
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{0.5, 0.5, 3.0}));
  expect_error([&] { v.fill_(1.0); }, {"fill_", "NoGradGuard"});
  Tensor d = x.detach();
  d.fill_(2.0);
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{2.0, 2.0, 2.0}));
}

TEST(Autograd, MultiOutputNodeWithGradientOnOneOutput) {
  // A custom two-output node: (2x, 3x). Only the second output reaches the loss.
  Tensor x = from_vector<double>({1.0, -1.0}).requires_grad_();
  Tensor a, b;
  {
    NoGradGuard guard;
    a = x * 2.0;
    b = x * 3.0;
  }
  bool saw_undefined = false;
  autograd::record("TwoOutputs", {&x}, {&a, &b}, {},
                   [&saw_undefined](const std::vector<Tensor>& g, const std::vector<Tensor>&) {
                     saw_undefined = !g[0].defined();
                     Tensor gx = g[1] * 3.0;
                     if (g[0].defined()) gx = gx + g[0] * 2.0;
                     return std::vector<Tensor>{gx};
                   });
  sum(b * b).backward();
  EXPECT_TRUE(saw_undefined);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{18.0, -18.0}));
}

TEST(Autograd, GraphIsFreedAfterBackward) {
  Tensor x = from_vector<double>({1.0, 2.0}).requires_grad_();
  std::weak_ptr<Node> node;
  {
    Tensor y = sum(exp(x));
    node = y.grad_fn();
    y.backward();
  }
  EXPECT_TRUE(node.expired());
}

TEST(Autograd, GradientReachesOnlyInputsThatNeedIt) {
  Tensor x = from_vector<double>({1.0, 2.0}).requires_grad_();
  Tensor c = from_vector<double>({5.0, 6.0});
  sum(x * c).backward();
  EXPECT_FALSE(c.grad().defined());
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5.0, 6.0}));
}

}  // namespace
}  // namespace signet
