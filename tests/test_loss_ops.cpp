// nll_loss, cross_entropy and mse_loss: values computed by hand with std::exp/std::log,
// PyTorch's weighting, ignore_index and label smoothing, errors, and f64 gradchecks.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "engine/ops/elementwise.h"
#include "engine/ops/loss.h"
#include "engine/ops/reduce.h"
#include "tests/support/expect_error.h"
#include "tests/support/gradcheck.h"

namespace signet {
namespace {

using testing::error_of;

using testing::gradcheck;
using testing::random_f64;
using Inputs = std::vector<Tensor>;

// Log-softmax of the rows of an n x c row-major list, with std::exp and std::log.
std::vector<double> loop_log_softmax(const std::vector<double>& x, int64_t n, int64_t c) {
  std::vector<double> out(x.size());
  for (int64_t i = 0; i < n; ++i) {
    double total = 0;
    for (int64_t j = 0; j < c; ++j) total += std::exp(x[i * c + j]);
    for (int64_t j = 0; j < c; ++j) out[i * c + j] = x[i * c + j] - std::log(total);
  }
  return out;
}

// PyTorch's label-smoothed, weighted cross-entropy of n x c logits, by its documented formula:
// per sample (1 - eps) * -w[t] logp[t] + eps / c * sum_k -w[k] logp[k]; ignored samples add
// nothing; mean divides by the sum of w[t] over counted samples.
double loop_cross_entropy(const std::vector<double>& x, const std::vector<int64_t>& target,
                          const std::vector<double>& w, int64_t ignore, double eps, int64_t c,
                          Reduction reduction) {
  const int64_t n = static_cast<int64_t>(target.size());
  std::vector<double> lp = loop_log_softmax(x, n, c);
  double total = 0, wsum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = target[i];
    if (t == ignore) continue;
    double smooth = 0;
    for (int64_t k = 0; k < c; ++k) smooth -= w[k] * lp[i * c + k];
    total += (1 - eps) * -w[t] * lp[i * c + t] + eps / static_cast<double>(c) * smooth;
    wsum += w[t];
  }
  return reduction == Reduction::mean ? total / wsum : total;
}

// Options with class weights, an ignore_index, a reduction and label smoothing.
ClassLossOptions options(const Tensor& weight, int64_t ignore, Reduction r, double eps = 0.0) {
  ClassLossOptions o;
  o.weight = weight;
  o.ignore_index = ignore;
  o.reduction = r;
  o.label_smoothing = eps;
  return o;
}

const std::vector<double> kLogits = {1, 2, 3, -1, 0, 4};  // 2 x 3

TEST(CrossEntropy, TwoByThreeByHand) {
  Tensor x = from_vector<double>(kLogits, {2, 3});
  Tensor t = from_vector<int64_t>({2, 0});
  const double l0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  const double l1 = std::log(std::exp(-1.0) + std::exp(0.0) + std::exp(4.0)) + 1.0;
  std::vector<double> none =
      cross_entropy(x, t, options({}, -100, Reduction::none)).to_vector<double>();
  ASSERT_EQ(none.size(), 2u);
  EXPECT_NEAR(none[0], l0, 1e-14);
  EXPECT_NEAR(none[1], l1, 1e-14);
  EXPECT_NEAR(cross_entropy(x, t, options({}, -100, Reduction::sum)).item(), l0 + l1, 1e-14);
  EXPECT_NEAR(cross_entropy(x, t).item(), (l0 + l1) / 2, 1e-14);
  Tensor w = from_vector<double>({0.2, 0.3, 0.5});
  EXPECT_NEAR(cross_entropy(x, t, options(w, -100, Reduction::mean)).item(),
              (0.5 * l0 + 0.2 * l1) / (0.5 + 0.2), 1e-14);
  EXPECT_NEAR(cross_entropy(x, t, options(w, -100, Reduction::sum)).item(), 0.5 * l0 + 0.2 * l1,
              1e-14);
  Tensor ti = from_vector<int64_t>({2, -100});
  EXPECT_NEAR(cross_entropy(x, ti, options(w, -100, Reduction::mean)).item(), l0, 1e-14);
  EXPECT_EQ(cross_entropy(x, ti, options(w, -100, Reduction::none)).to_vector<double>()[1], 0.0);
}

TEST(CrossEntropy, LabelSmoothingWithWeightsFollowsPyTorch) {
  Tensor x = random_f64({5, 4}, -2, 2, 1);
  std::vector<int64_t> tv = {2, 0, 3, 3, 1};
  Tensor t = from_vector<int64_t>(tv);
  std::vector<double> wv = {0.7, 1.3, 0.4, 2.0};
  Tensor w = from_vector<double>(wv);
  std::vector<double> xv = x.to_vector<double>();
  for (Reduction r : {Reduction::mean, Reduction::sum})
    EXPECT_NEAR(cross_entropy(x, t, options(w, 3, r, 0.1)).item(),
                loop_cross_entropy(xv, tv, wv, 3, 0.1, 4, r), 1e-14);
  std::vector<double> ones(4, 1.0);
  EXPECT_NEAR(cross_entropy(x, t, options({}, -100, Reduction::mean, 0.25)).item(),
              loop_cross_entropy(xv, tv, ones, -100, 0.25, 4, Reduction::mean), 1e-14);
  std::vector<double> none =
      cross_entropy(x, t, options(w, 3, Reduction::none, 0.1)).to_vector<double>();
  for (size_t i = 0; i < tv.size(); ++i) {
    std::vector<double> row(xv.begin() + 4 * i, xv.begin() + 4 * i + 4);
    EXPECT_NEAR(none[i], loop_cross_entropy(row, {tv[i]}, wv, 3, 0.1, 4, Reduction::sum), 1e-14)
        << "sample " << i;
  }
}

TEST(CrossEntropy, SpatialTargetsMatchRowByRow) {
  // (N, C, d) = (2, 3, 4): each (n, j) is a 3-class problem over logits x[n, :, j].
  Tensor x = random_f64({2, 3, 4}, -2, 2, 2);
  std::vector<int64_t> tv = {0, 2, 1, -100, 2, 2, 0, 1};
  Tensor t = from_vector<int64_t>(tv, {2, 4});
  Tensor w = from_vector<double>({0.5, 1.5, 1.0});
  std::vector<double> xv = x.to_vector<double>(), rows, wv = {0.5, 1.5, 1.0};
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t c = 0; c < 3; ++c) rows.push_back(xv[(n * 3 + c) * 4 + j]);
  for (double eps : {0.0, 0.1}) {
    EXPECT_NEAR(cross_entropy(x, t, options(w, -100, Reduction::mean, eps)).item(),
                loop_cross_entropy(rows, tv, wv, -100, eps, 3, Reduction::mean), 1e-14);
    Tensor none = cross_entropy(x, t, options(w, -100, Reduction::none, eps));
    EXPECT_EQ(none.shape(), (Shape{2, 4}));
    EXPECT_NEAR(none.to_vector<double>()[5],
                loop_cross_entropy({rows.begin() + 15, rows.begin() + 18}, {tv[5]}, wv, -100, eps,
                                   3, Reduction::sum),
                1e-14);
  }
}

TEST(CrossEntropy, UnbatchedInput) {
  Tensor x = from_vector<double>({1, 2, 3});
  Tensor t = from_vector<int64_t>({1}).reshape({});
  const double want = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 2.0;
  EXPECT_NEAR(cross_entropy(x, t).item(), want, 1e-14);
  Tensor none = cross_entropy(x, t, options({}, -100, Reduction::none));
  EXPECT_EQ(none.shape(), Shape{});
  EXPECT_NEAR(none.item(), want, 1e-14);
  EXPECT_THROW(cross_entropy(x, from_vector<int64_t>({1})), Error);
}

TEST(CrossEntropy, FloatAgreesWithDouble) {
  Tensor x = random_f64({6, 5, 3}, -3, 3, 3);
  Tensor t = from_vector<int64_t>({0, 4, 2, 1, 3, 3, 2, 0, 1, 4, 4, 0, 1, 2, 3, 0, 0, 1}, {6, 3});
  Tensor w = random_f64({5}, 0.5, 1.5, 4);
  double d = cross_entropy(x, t, options(w, 3, Reduction::mean, 0.1)).item();
  double f =
      cross_entropy(x.to(DType::f32), t, options(w.to(DType::f32), 3, Reduction::mean, 0.1)).item();
  EXPECT_NEAR(f, d, 1e-5);
  EXPECT_EQ(cross_entropy(x.to(DType::f32), t).dtype(), DType::f32);
}

TEST(NllLoss, PicksTheTargetLogProbability) {
  Tensor lp = from_vector<double>({-0.5, -1.5, -2.5, -0.1, -3.0, -0.7}, {2, 3});
  Tensor t = from_vector<int64_t>({1, 2});
  EXPECT_EQ(nll_loss(lp, t, options({}, -100, Reduction::none)).to_vector<double>(),
            (std::vector<double>{1.5, 0.7}));
  EXPECT_DOUBLE_EQ(nll_loss(lp, t).item(), 1.1);
  Tensor w = from_vector<double>({1, 2, 4});
  EXPECT_DOUBLE_EQ(nll_loss(lp, t, options(w, -100, Reduction::sum)).item(), 3.0 + 2.8);
  EXPECT_DOUBLE_EQ(nll_loss(lp, t, options(w, -100, Reduction::mean)).item(), 5.8 / 6.0);
  EXPECT_DOUBLE_EQ(nll_loss(lp, t, options(w, 2, Reduction::mean)).item(), 1.5);
  // Ignored entries may hold any value, even an out-of-range one.
  Tensor ti = from_vector<int64_t>({7, 2});
  EXPECT_DOUBLE_EQ(nll_loss(lp, ti, options({}, 7, Reduction::sum)).item(), 0.7);
}

TEST(NllLoss, ErrorsNameValuesAndShapes) {
  Tensor lp = zeros({4, 3}, DType::f64);
  std::string m = error_of([&] { nll_loss(lp, from_vector<int64_t>({0, 2, 5, 1})); });
  EXPECT_NE(m.find("nll_loss"), std::string::npos) << m;
  EXPECT_NE(m.find("target 5"), std::string::npos) << m;
  EXPECT_NE(m.find("position [2]"), std::string::npos) << m;
  m = error_of([&] {
    cross_entropy(zeros({2, 3, 2}), from_vector<int64_t>({0, 1, -1, 2}, {2, 2}));
  });
  EXPECT_NE(m.find("cross_entropy"), std::string::npos) << m;
  EXPECT_NE(m.find("target -1"), std::string::npos) << m;
  EXPECT_NE(m.find("position [1, 0]"), std::string::npos) << m;
  m = error_of([&] { nll_loss(lp, from_vector<int64_t>({0, 1, 2, 1, 0})); });
  EXPECT_NE(m.find("[4, 3]"), std::string::npos) << m;
  EXPECT_NE(m.find("[5]"), std::string::npos) << m;
  m = error_of([&] { nll_loss(lp, zeros({4}, DType::f64)); });
  EXPECT_NE(m.find("i64"), std::string::npos) << m;
  m = error_of([&] {
    nll_loss(lp, from_vector<int64_t>({0, 1, 2, 1}),
             options(ones({4}, DType::f64), -100, Reduction::mean));
  });
  EXPECT_NE(m.find("weight [4]"), std::string::npos) << m;
  EXPECT_THROW(cross_entropy(zeros({2, 3}), from_vector<int64_t>({0, 1}),
                             options({}, -100, Reduction::mean, 1.5)),
               Error);
}

TEST(NllLoss, NoGradientReachesWeights) {
  Tensor x = random_f64({3, 4}, -1, 1, 5).requires_grad_();
  Tensor w = random_f64({4}, 0.5, 1.5, 6).requires_grad_();
  Tensor t = from_vector<int64_t>({3, 0, 1});
  Tensor loss = add(cross_entropy(x, t, options(w, -100, Reduction::mean, 0.1)),
                    nll_loss(x, t, options(w, -100, Reduction::sum)));
  loss.backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());
}

TEST(LossGrad, NllLoss) {
  Tensor lp = random_f64({5, 4}, -3, 0, 7);
  Tensor w = from_vector<double>({0.7, 1.3, 0.4, 2.0});
  Tensor t = from_vector<int64_t>({2, -100, 3, 0, 3});
  for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean}) {
    EXPECT_TRUE(
        gradcheck([&](const Inputs& v) { return nll_loss(v[0], t, options({}, -100, r)); }, {lp}));
    EXPECT_TRUE(
        gradcheck([&](const Inputs& v) { return nll_loss(v[0], t, options(w, -100, r)); }, {lp}));
  }
  Tensor lp3 = random_f64({3, 4, 2}, -3, 0, 8);
  Tensor t3 = from_vector<int64_t>({1, 3, 0, 2, 2, 1}, {3, 2});
  EXPECT_TRUE(gradcheck(
      [&](const Inputs& v) { return nll_loss(v[0], t3, options(w, 2, Reduction::mean)); }, {lp3}));
}

TEST(LossGrad, CrossEntropy) {
  Tensor x = random_f64({5, 4}, -2, 2, 9);
  Tensor w = from_vector<double>({0.7, 1.3, 0.4, 2.0});
  Tensor t = from_vector<int64_t>({2, -100, 3, 0, 3});
  for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean}) {
    for (double eps : {0.0, 0.1}) {
      EXPECT_TRUE(gradcheck(
          [&](const Inputs& v) { return cross_entropy(v[0], t, options({}, -100, r, eps)); }, {x}));
      EXPECT_TRUE(gradcheck(
          [&](const Inputs& v) { return cross_entropy(v[0], t, options(w, -100, r, eps)); }, {x}));
    }
  }
}

TEST(LossGrad, CrossEntropySpatial) {
  Tensor x = random_f64({2, 3, 2, 3}, -2, 2, 10);
  Tensor w = from_vector<double>({0.5, 1.5, 1.0});
  Tensor t = from_vector<int64_t>({0, 2, 1, 1, 2, 0, 2, 2, 0, 1, 1, 0}, {2, 2, 3});
  for (double eps : {0.0, 0.1})
    EXPECT_TRUE(gradcheck(
        [&](const Inputs& v) {
          return cross_entropy(v[0], t, options(w, 1, Reduction::mean, eps));
        },
        {x}));
}

TEST(MseLoss, ValuesAndGradients) {
  Tensor a = from_vector<double>({1, 2, 3, 4}, {2, 2});
  Tensor b = from_vector<double>({0, 2, 5, 1}, {2, 2});
  EXPECT_EQ(mse_loss(a, b, Reduction::none).to_vector<double>(), (std::vector<double>{1, 0, 4, 9}));
  EXPECT_DOUBLE_EQ(mse_loss(a, b, Reduction::sum).item(), 14);
  EXPECT_DOUBLE_EQ(mse_loss(a, b).item(), 3.5);
  std::string m = error_of([] { mse_loss(zeros({2, 3}), zeros({3, 2})); });
  EXPECT_NE(m.find("mse_loss"), std::string::npos) << m;
  EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
  EXPECT_NE(m.find("[3, 2]"), std::string::npos) << m;
  Tensor x = random_f64({3, 5}, -1, 1, 11), y = random_f64({3, 5}, -1, 1, 12);
  for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean})
    EXPECT_TRUE(gradcheck([r](const Inputs& v) { return mse_loss(v[0], v[1], r); }, {x, y}));
}

}  // namespace
}  // namespace signet
