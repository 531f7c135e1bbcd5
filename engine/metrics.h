// Classification metrics on plain tensors (no autograd): scores (N, C) f32 or f64, labels and
// predictions (N) i64 in [0, C). Conventions follow scikit-learn: the confusion matrix has
// true labels as rows and predictions as columns; a ratio with a zero denominator is 0.
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace signet::metrics {

// Fraction of rows whose label ranks among the k highest scores. Ties rank the lower class
// index first (a stable descending sort); k >= C counts every row correct; 0 for no rows.
double top_k_accuracy(const Tensor& scores, const Tensor& labels, int64_t k);
// The predicted class of each row of scores (N, C): the first index of the row's maximum.
Tensor argmax_predictions(const Tensor& scores);
// (C, C) i64 counts: element (t, p) counts rows with label t predicted as p.
Tensor confusion_matrix(const Tensor& predictions, const Tensor& labels, int64_t num_classes);
// (C) f64: for each class, correct / rows with that label (the same values as recall).
Tensor per_class_accuracy(const Tensor& confusion);
// (C) f64: for each class, correct / rows predicted as that class.
Tensor precision(const Tensor& confusion);
// (C) f64: for each class, correct / rows with that label.
Tensor recall(const Tensor& confusion);
// Mean F1 = 2 P R / (P + R) over the classes that occur as a label or a prediction
// (scikit-learn's f1_score(average="macro") on those rows); 0 when there are no rows.
double macro_f1(const Tensor& confusion);

}  // namespace signet::metrics
