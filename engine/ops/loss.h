// Losses with PyTorch's semantics: nll_loss, cross_entropy, mse_loss.
#pragma once
#include "engine/tensor.h"

namespace signet {

enum class Reduction { none, mean, sum };

// Options of nll_loss and cross_entropy (PyTorch's defaults).
struct ClassLossOptions {
  Tensor weight;  // per-class weights (C), undefined for all ones
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::mean;  // mean divides by the sum of target weights
  double label_smoothing = 0.0;           // cross_entropy only
};

// Negative log-likelihood of log-probabilities (N, C) or (N, C, d...) against i64 targets
// (N) or (N, d...).
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const ClassLossOptions& opt = {});
// log_softmax over dim 1 followed by nll_loss, with optional label smoothing.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const ClassLossOptions& opt = {});
// (a - b)^2 reduced.
Tensor mse_loss(const Tensor& a, const Tensor& b, Reduction reduction = Reduction::mean);

}  // namespace signet
