#include "engine/metrics.h"

#include <vector>

namespace signet::metrics {
namespace {

// Checks labels (N) i64 in [0, C) against n rows; returns them as a vector.
std::vector<int64_t> checked_labels(const char* op, const Tensor& labels, int64_t n, int64_t c,
                                    const char* what) {
  check_defined(op, labels);
  check_dtype(op, labels, {DType::i64});
  SIGNET_CHECK(labels.dim() == 1 && labels.size(0) == n, op, ": ", what, " must be (", n,
               "), got shape ", shape_str(labels.shape()));
  std::vector<int64_t> v = labels.contiguous().to_vector<int64_t>();
  for (size_t i = 0; i < v.size(); ++i)
    SIGNET_CHECK(v[i] >= 0 && v[i] < c, op, ": ", what, "[", i, "] = ", v[i], " is outside [0, ", c,
                 ")");
  return v;
}

// Checks scores (N, C) f32/f64; returns them as f64 values in row-major order.
std::vector<double> checked_scores(const char* op, const Tensor& scores) {
  check_defined(op, scores);
  check_dtype(op, scores, {DType::f32, DType::f64});
  SIGNET_CHECK(scores.dim() == 2 && scores.size(1) > 0, op,
               ": scores must be (N, C) with C > 0, got shape ", shape_str(scores.shape()));
  return scores.to(DType::f64).contiguous().to_vector<double>();
}

// Checks a (C, C) i64 confusion matrix; returns its counts in row-major order.
std::vector<int64_t> checked_confusion(const char* op, const Tensor& cm) {
  check_defined(op, cm);
  check_dtype(op, cm, {DType::i64});
  SIGNET_CHECK(cm.dim() == 2 && cm.size(0) == cm.size(1), op,
               ": expects a square (C, C) confusion matrix, got shape ", shape_str(cm.shape()));
  return cm.contiguous().to_vector<int64_t>();
}

// num / den, or 0 when den is 0.
double ratio(double num, double den) {
  return den == 0 ? 0.0 : num / den;
}

// Diagonal over row sums (by_row) or column sums of a confusion matrix, as (C) f64.
Tensor diagonal_ratio(const char* op, const Tensor& confusion, bool by_row) {
  std::vector<int64_t> m = checked_confusion(op, confusion);
  const int64_t c = confusion.size(0);
  std::vector<double> out(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) {
    int64_t total = 0;
    for (int64_t j = 0; j < c; ++j) total += by_row ? m[i * c + j] : m[j * c + i];
    out[i] = ratio(static_cast<double>(m[i * c + i]), static_cast<double>(total));
  }
  return from_vector<double>(out, {c});
}

}  // namespace

double top_k_accuracy(const Tensor& scores, const Tensor& labels, int64_t k) {
  std::vector<double> s = checked_scores("top_k_accuracy", scores);
  const int64_t n = scores.size(0), c = scores.size(1);
  SIGNET_CHECK(k >= 1, "top_k_accuracy: k must be >= 1, got ", k);
  std::vector<int64_t> y = checked_labels("top_k_accuracy", labels, n, c, "labels");
  if (n == 0) return 0.0;
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double* row = &s[static_cast<size_t>(i * c)];
    const double target = row[y[i]];
    int64_t rank = 0;
    for (int64_t j = 0; j < c; ++j)
      if (row[j] > target || (row[j] == target && j < y[i])) ++rank;
    if (rank < k) ++correct;
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

Tensor argmax_predictions(const Tensor& scores) {
  std::vector<double> s = checked_scores("argmax_predictions", scores);
  const int64_t n = scores.size(0), c = scores.size(1);
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    for (int64_t j = 1; j < c; ++j)
      if (s[i * c + j] > s[i * c + best]) best = j;
    out[i] = best;
  }
  return from_vector<int64_t>(out, {n});
}

Tensor confusion_matrix(const Tensor& predictions, const Tensor& labels, int64_t num_classes) {
  SIGNET_CHECK(num_classes > 0, "confusion_matrix: num_classes must be > 0, got ", num_classes);
  check_defined("confusion_matrix", predictions);
  const int64_t n = predictions.dim() == 1 ? predictions.size(0) : -1;
  SIGNET_CHECK(n >= 0, "confusion_matrix: predictions must be (N), got shape ",
               shape_str(predictions.shape()));
  std::vector<int64_t> p =
      checked_labels("confusion_matrix", predictions, n, num_classes, "predictions");
  std::vector<int64_t> y = checked_labels("confusion_matrix", labels, n, num_classes, "labels");
  std::vector<int64_t> m(static_cast<size_t>(num_classes * num_classes), 0);
  for (int64_t i = 0; i < n; ++i) ++m[y[i] * num_classes + p[i]];
  return from_vector<int64_t>(m, {num_classes, num_classes});
}

Tensor per_class_accuracy(const Tensor& confusion) {
  return diagonal_ratio("per_class_accuracy", confusion, true);
}

Tensor precision(const Tensor& confusion) {
  return diagonal_ratio("precision", confusion, false);
}

Tensor recall(const Tensor& confusion) {
  return diagonal_ratio("recall", confusion, true);
}

double macro_f1(const Tensor& confusion) {
  std::vector<int64_t> m = checked_confusion("macro_f1", confusion);
  const int64_t c = confusion.size(0);
  double sum = 0;
  int64_t present = 0;
  for (int64_t i = 0; i < c; ++i) {
    int64_t row = 0, col = 0;
    for (int64_t j = 0; j < c; ++j) {
      row += m[i * c + j];
      col += m[j * c + i];
    }
    if (row == 0 && col == 0) continue;
    const double tp = static_cast<double>(m[i * c + i]);
    const double p = ratio(tp, static_cast<double>(col)), r = ratio(tp, static_cast<double>(row));
    sum += ratio(2 * p * r, p + r);
    ++present;
  }
  return ratio(sum, static_cast<double>(present));
}

}  // namespace signet::metrics
