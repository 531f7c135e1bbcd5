// Metrics against hand-computed examples: top-k accuracy (1, 5, 10, ties, k >= C), confusion
// matrix, per-class accuracy, precision, recall, macro-F1 (scikit-learn's conventions) and errors.
#include <gtest/gtest.h>

#include <vector>

#include "engine/metrics.h"
#include "tests/support/expect_error.h"

namespace signet {
namespace {

using testing::expect_error;

TEST(Metrics, TopKAccuracy) {
  // 4 rows, 6 classes. Label ranks (0-based): row 0 -> 0, row 1 -> 2, row 2 -> 5, row 3 -> 1.
  Tensor scores = from_vector<float>({0.9f, 0.1f, 0.0f, 0.0f, 0.0f,  0.0f,  //
                                      0.5f, 0.4f, 0.3f, 0.2f, 0.1f,  0.0f,  //
                                      0.1f, 0.2f, 0.3f, 0.4f, 0.5f,  0.6f,  //
                                      0.3f, 0.1f, 0.3f, 0.2f, 0.05f, 0.05f},
                                     {4, 6});
  Tensor labels = from_vector<int64_t>({0, 2, 0, 2});
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(scores, labels, 1), 0.25);
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(scores, labels, 2), 0.5);  // tie: class 0 first
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(scores, labels, 3), 0.75);
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(scores, labels, 5), 0.75);
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(scores, labels, 10), 1.0);  // k >= C
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(scores.to(DType::f64), labels, 6), 1.0);
}

TEST(Metrics, ConfusionMatrixAndPerClassScores) {
  // labels  0 0 0 1 1 2 2 2 2 ; predictions 0 1 0 1 2 2 2 0 2; class 3 never occurs.
  Tensor labels = from_vector<int64_t>({0, 0, 0, 1, 1, 2, 2, 2, 2});
  Tensor pred = from_vector<int64_t>({0, 1, 0, 1, 2, 2, 2, 0, 2});
  Tensor cm = metrics::confusion_matrix(pred, labels, 4);
  EXPECT_EQ(cm.shape(), (Shape{4, 4}));
  EXPECT_EQ(cm.to_vector<int64_t>(),
            (std::vector<int64_t>{2, 1, 0, 0, 0, 1, 1, 0, 1, 0, 3, 0, 0, 0, 0, 0}));
  EXPECT_EQ(metrics::recall(cm).to_vector<double>(),
            (std::vector<double>{2.0 / 3, 0.5, 0.75, 0.0}));
  EXPECT_EQ(metrics::per_class_accuracy(cm).to_vector<double>(),
            metrics::recall(cm).to_vector<double>());
  EXPECT_EQ(metrics::precision(cm).to_vector<double>(),
            (std::vector<double>{2.0 / 3, 0.5, 0.75, 0.0}));
  // F1 per class: 2/3, 1/2, 3/4 (precision = recall here); class 3 is absent and not counted.
  EXPECT_DOUBLE_EQ(metrics::macro_f1(cm), (2.0 / 3 + 0.5 + 0.75) / 3);
}

TEST(Metrics, MacroF1WithUnequalPrecisionAndRecall) {
  // labels 0 0 1 1 ; predictions 0 0 0 1: class 0 P = 2/3 R = 1, class 1 P = 1 R = 1/2.
  Tensor cm = metrics::confusion_matrix(from_vector<int64_t>({0, 0, 0, 1}),
                                        from_vector<int64_t>({0, 0, 1, 1}), 2);
  const double f0 = 2 * (2.0 / 3) * 1.0 / (2.0 / 3 + 1.0), f1 = 2 * 1.0 * 0.5 / 1.5;
  EXPECT_DOUBLE_EQ(metrics::macro_f1(cm), (f0 + f1) / 2);
  // A class predicted but never a label counts with F1 = 0.
  Tensor cm2 =
      metrics::confusion_matrix(from_vector<int64_t>({0, 2}), from_vector<int64_t>({0, 0}), 3);
  EXPECT_DOUBLE_EQ(metrics::macro_f1(cm2), (2 * 1.0 * 0.5 / 1.5 + 0.0) / 2);
}

TEST(Metrics, ArgmaxPredictionsTakeTheFirstMaximum) {
  Tensor scores = from_vector<double>({0.1, 0.7, 0.7, 0.5, 0.2, 0.1}, {2, 3});
  EXPECT_EQ(metrics::argmax_predictions(scores).to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
}

TEST(Metrics, Errors) {
  Tensor scores = zeros({2, 3});
  expect_error(
      [&] {
        metrics::top_k_accuracy(scores, from_vector<int64_t>({0, 3}), 1);
      },
      {"top_k_accuracy", "labels[1] = 3", "[0, 3)"});
  expect_error([&] { metrics::top_k_accuracy(scores, from_vector<int64_t>({0}), 1); },
               {"top_k_accuracy", "(2)", "[1]"});
  expect_error(
      [&] {
        metrics::top_k_accuracy(scores, from_vector<int64_t>({0, 1}), 0);
      },
      {"k must be >= 1"});
  expect_error([&] { metrics::top_k_accuracy(zeros({3}), from_vector<int64_t>({0}), 1); },
               {"(N, C)", "[3]"});
  expect_error(
      [&] {
        metrics::confusion_matrix(zeros({2}), from_vector<int64_t>({0, 1}), 2);
      },
      {"confusion_matrix", "f32"});
  expect_error([&] { metrics::macro_f1(zeros({2, 3}, DType::i64)); }, {"macro_f1", "[2, 3]"});
}

}  // namespace
}  // namespace signet
