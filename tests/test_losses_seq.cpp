// Focal loss, per-step weighted sequence cross-entropy, binary cross-entropy with logits and
// the padding (lengths / masks) of every class loss: values and gradients against PyTorch
// (tests/fixtures/make_loss_fixtures.py -> loss_cases.txt) on odd sizes, f64 gradchecks, the
// guarantee that padded steps contribute nothing, and the argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "engine/ops/elementwise.h"
#include "engine/ops/loss.h"
#include "engine/ops/reduce.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using testing::expect_error;
using testing::gradcheck;
using testing::random_f64;

// The fixture's tensors, loaded once.
const std::map<std::string, Tensor>& cases() {
  static const std::map<std::string, Tensor> all = testing::load_text_fixture("loss_cases.txt");
  return all;
}

// The fixture tensor named key (f64); fails the test when missing.
Tensor fx(const std::string& key) {
  auto it = cases().find(key);
  EXPECT_NE(it, cases().end()) << key;
  return it == cases().end() ? Tensor() : it->second;
}

// An i64 copy of an integer-valued fixture tensor (targets, lengths).
Tensor fx_i64(const std::string& key) {
  return fx(key).to(DType::i64);
}

// Elementwise |a - b| <= 1e-10 (1 + |b|) with equal shapes.
// (The fixture loader gives 0-d tensors the shape [1].)
void expect_close(const Tensor& a, Tensor b, const std::string& what) {
  if (a.dim() == 0 && b.numel() == 1) b = b.reshape({});
  ASSERT_EQ(a.shape(), b.shape()) << what;
  std::vector<double> av = a.to(DType::f64).to_vector<double>(), bv = b.to_vector<double>();
  for (size_t i = 0; i < av.size(); ++i)
    ASSERT_NEAR(av[i], bv[i], 1e-10 * (1 + std::fabs(bv[i]))) << what << " element " << i;
}

// Runs loss(x) on the fixture's <name>.x (or x_key) and checks value and, for scalars, grad.
void expect_matches_torch(const std::string& name, const std::function<Tensor(const Tensor&)>& loss,
                          const std::string& x_key = "") {
  Tensor x = fx(x_key.empty() ? name + ".x" : x_key).clone().requires_grad_();
  Tensor v = loss(x);
  expect_close(v, fx(name + ".value"), name + " value");
  if (v.dim() != 0) return;
  v.backward();
  expect_close(x.grad(), fx(name + ".grad"), name + " grad");
}

TEST(FocalLoss, MatchesTorchOps) {
  FocalLossOptions a;
  a.gamma = 2.0;
  a.alpha = 0.25;
  expect_matches_torch("focal_a",
                       [&](const Tensor& x) { return focal_loss(x, fx_i64("focal_a.target"), a); });
  FocalLossOptions b;
  b.gamma = 1.5;
  b.weight = fx("focal_b.weight");
  b.reduction = Reduction::none;
  expect_matches_torch("focal_b",
                       [&](const Tensor& x) { return focal_loss(x, fx_i64("focal_b.target"), b); });
  b.reduction = Reduction::sum;
  expect_matches_torch(
      "focal_b_sum", [&](const Tensor& x) { return focal_loss(x, fx_i64("focal_b.target"), b); },
      "focal_b.x");
  FocalLossOptions c;
  c.weight = fx("focal_b.weight");
  c.lengths = fx_i64("focal_c.lengths");
  expect_matches_torch(
      "focal_c", [&](const Tensor& x) { return focal_loss(x, fx_i64("focal_c.target"), c); },
      "focal_b.x");
}

TEST(FocalLoss, GammaZeroAlphaOneIsCrossEntropy) {
  Tensor x = random_f64({7, 5}, -2, 2, 3);
  Tensor t = from_vector<int64_t>({0, 4, 2, 2, 1, 3, 0}, {7});
  FocalLossOptions o;
  o.gamma = 0.0;
  expect_close(focal_loss(x, t, o), cross_entropy(x, t), "gamma 0");
}

TEST(FocalLoss, Gradcheck) {
  Tensor t = from_vector<int64_t>({1, 0, 3, -100, 2, 1, 4, 0, 2, 3, 1, 4, 0, 0, 2}, {3, 5});
  Tensor w = random_f64({5}, 0.2, 1.5, 8);
  for (double gamma : {0.0, 1.0, 2.5}) {
    FocalLossOptions o;
    o.gamma = gamma;
    o.weight = gamma == 1.0 ? w : Tensor();
    o.alpha = 0.3;
    o.mask = from_vector<double>({1, 0.5, 0, 2, 1, 1, 1, 0, 0.25, 1, 1, 1, 1, 1, 0}, {3, 5});
    EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return focal_loss(in[0], t, o); },
                          {random_f64({3, 5, 5}, -2, 2, 11)}))
        << "gamma " << gamma;
  }
}

TEST(BceWithLogits, MatchesTorch) {
  Tensor y = fx("bce.target");
  expect_matches_torch(
      "bce_plain", [&](const Tensor& x) { return binary_cross_entropy_with_logits(x, y); },
      "bce.x");
  BceOptions ws;
  ws.weight = fx("bce.weight");
  ws.pos_weight = fx("bce.pos_weight");
  ws.reduction = Reduction::sum;
  expect_matches_torch(
      "bce_weighted_sum",
      [&](const Tensor& x) { return binary_cross_entropy_with_logits(x, y, ws); }, "bce.x");
  BceOptions none;
  none.pos_weight = fx("bce.pos_weight");
  none.reduction = Reduction::none;
  expect_matches_torch(
      "bce_none", [&](const Tensor& x) { return binary_cross_entropy_with_logits(x, y, none); },
      "bce.x");
  BceOptions masked;
  masked.weight = fx("bce.weight");
  masked.mask = fx("bce_mask.mask");
  expect_matches_torch(
      "bce_mask", [&](const Tensor& x) { return binary_cross_entropy_with_logits(x, y, masked); },
      "bce.x");
}

TEST(BceWithLogits, ExtremeLogitsStayFinite) {
  Tensor x = from_vector<float>({-1e4f, -100.f, 0.f, 100.f, 1e4f}, {5});
  Tensor y = from_vector<float>({0.f, 1.f, 0.5f, 0.f, 1.f}, {5});
  BceOptions o;
  o.reduction = Reduction::none;
  std::vector<float> l = binary_cross_entropy_with_logits(x, y, o).to_vector<float>();
  const std::vector<float> want = {0.f, 100.f, std::log(2.f), 100.f, 0.f};
  for (size_t i = 0; i < l.size(); ++i) EXPECT_NEAR(l[i], want[i], 1e-5f * (1 + want[i])) << i;
}

TEST(BceWithLogits, Gradcheck) {
  Tensor y = random_f64({3, 4, 5}, 0, 1, 4);
  BceOptions o;
  o.weight = random_f64({5}, 0.5, 1.5, 5);
  o.pos_weight = random_f64({5}, 0.2, 3, 6);
  o.lengths = from_vector<int64_t>({4, 0, 2}, {3});
  EXPECT_TRUE(gradcheck(
      [&](const std::vector<Tensor>& in) { return binary_cross_entropy_with_logits(in[0], y, o); },
      {random_f64({3, 4, 5}, -3, 3, 7)}));
}

TEST(ClassLossPadding, CrossEntropyLengthsMatchTorchIgnoreIndex) {
  ClassLossOptions o;
  o.weight = fx("ce_len.weight");
  o.label_smoothing = 0.1;
  o.lengths = fx_i64("ce_len.lengths");
  expect_matches_torch(
      "ce_len", [&](const Tensor& x) { return cross_entropy(x, fx_i64("ce_len.target"), o); });
}

TEST(ClassLossPadding, PaddedStepsGetNoGradientAndLengthsEqualMask) {
  Tensor x = random_f64({3, 4, 6}, -2, 2, 12).requires_grad_();  // (N, C, T)
  const std::vector<int64_t> len = {6, 2, 3};
  std::vector<int64_t> garbage, ignored;
  std::vector<uint8_t> m;
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t s = 0; s < 6; ++s) {
      const bool valid = s < len[n];
      garbage.push_back(valid ? (n + s) % 4 : 9);  // 9 is no class: padding is never checked
      ignored.push_back(valid ? (n + s) % 4 : -100);
      m.push_back(valid ? 1 : 0);
    }
  Tensor t = from_vector<int64_t>(garbage, {3, 6});
  ClassLossOptions by_len;
  by_len.lengths = from_vector<int64_t>(len, {3});
  Tensor v = nll_loss(x, t, by_len);
  v.backward();
  std::vector<double> g = x.grad().to_vector<double>();
  int nonzero = 0;
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t c = 0; c < 4; ++c)
      for (int64_t s = 0; s < 6; ++s) {
        const double gi = g[(n * 4 + c) * 6 + s];
        if (s >= len[n]) {
          EXPECT_EQ(gi, 0.0) << n << " " << c << " " << s;
        }
        nonzero += gi != 0.0;
      }
  EXPECT_EQ(nonzero, 6 + 2 + 3);  // one target per valid step
  ClassLossOptions by_mask;
  by_mask.mask = from_vector<uint8_t>(m, {3, 6});
  expect_close(nll_loss(x.detach(), t, by_mask), v.detach(), "mask vs lengths");
  expect_close(nll_loss(x.detach(), from_vector<int64_t>(ignored, {3, 6})), v.detach(),
               "lengths vs ignore_index");
}

TEST(ClassLossPadding, GradcheckWithFloatMask) {
  Tensor t = from_vector<int64_t>({0, 2, 1, 3, 3, 0, 2, 1, 1, 2, 0, 3, 2, 2, 2}, {3, 5});
  ClassLossOptions o;
  o.weight = random_f64({4}, 0.3, 2, 9);
  o.label_smoothing = 0.2;
  o.mask = random_f64({3, 5}, 0, 2, 10);
  EXPECT_TRUE(gradcheck([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], t, o); },
                        {random_f64({3, 4, 5}, -2, 2, 13)}));
}

TEST(SequenceCrossEntropy, MatchesTorchWithRampAndLengths) {
  SequenceLossOptions o;
  o.weight = fx("seq.weight");
  o.lengths = fx_i64("seq.lengths");
  o.step_weights = linear_step_weights(4, DType::f64);
  expect_matches_torch(
      "seq", [&](const Tensor& x) { return sequence_cross_entropy(x, fx_i64("seq.target"), o); });
  SequenceLossOptions b;
  b.batch_first = true;
  b.step_weights = linear_step_weights(4, DType::f64);
  expect_matches_torch("seq_b", [&](const Tensor& x) {
    return sequence_cross_entropy(x, fx_i64("seq_b.target"), b);
  });
}

TEST(SequenceCrossEntropy, LinearRampAndGradcheck) {
  EXPECT_EQ(linear_step_weights(4, DType::f64).to_vector<double>(),
            (std::vector<double>{0.25, 0.5, 0.75, 1.0}));
  Tensor t = from_vector<int64_t>({0, 2, 1, 3, 3, 0, 2, 1, 1, 2, 0, 3, 2, 2, 2}, {5, 3});
  SequenceLossOptions o;
  o.step_weights = linear_step_weights(5, DType::f64);
  o.mask = from_vector<uint8_t>({1, 1, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 1}, {5, 3});
  o.label_smoothing = 0.05;
  // The (T, N) mask above is the padding of lengths (3, 1, 5) (column n valid for t < len n).
  SequenceLossOptions by_len = o;
  by_len.mask = Tensor();
  by_len.lengths = from_vector<int64_t>({3, 1, 5}, {3});
  Tensor x = random_f64({5, 3, 4}, -2, 2, 15);
  expect_close(sequence_cross_entropy(x, t, o), sequence_cross_entropy(x, t, by_len),
               "time-major mask vs lengths");
  EXPECT_TRUE(
      gradcheck([&](const std::vector<Tensor>& in) { return sequence_cross_entropy(in[0], t, o); },
                {random_f64({5, 3, 4}, -2, 2, 14)}));
}

TEST(Losses, Errors) {
  Tensor x = zeros({2, 3, 4}, DType::f64);
  Tensor t = zeros({2, 4}, DType::i64);
  ClassLossOptions both;
  both.lengths = from_vector<int64_t>({1, 2}, {2});
  both.mask = ones({2, 4}, DType::u8);
  expect_error([&] { cross_entropy(x, t, both); }, {"cross_entropy", "not both"});
  ClassLossOptions bad_len;
  bad_len.lengths = from_vector<int64_t>({1, 5}, {2});
  expect_error([&] { nll_loss(x, t, bad_len); }, {"nll_loss", "lengths[1] = 5", "[0, 4]"});
  ClassLossOptions bad_mask;
  bad_mask.mask = ones({3}, DType::u8);
  expect_error([&] { cross_entropy(x, t, bad_mask); }, {"cross_entropy", "mask [3]", "[2, 4]"});
  FocalLossOptions neg;
  neg.gamma = -1;
  expect_error([&] { focal_loss(x, t, neg); }, {"focal_loss", "gamma"});
  SequenceLossOptions s;
  s.step_weights = ones({3}, DType::f64);
  expect_error([&] { sequence_cross_entropy(x, zeros({3}, DType::i64), s); },
               {"sequence_cross_entropy", "step_weights [3]"});
  BceOptions pw;
  pw.pos_weight = ones({3}, DType::f64);
  expect_error([&] { binary_cross_entropy_with_logits(x, x, pw); },
               {"binary_cross_entropy_with_logits", "pos_weight [3]", "[2, 3, 4]"});
}

}  // namespace
}  // namespace signet
