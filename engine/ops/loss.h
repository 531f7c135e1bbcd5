// Losses with PyTorch's semantics: nll_loss, cross_entropy, mse_loss, and the training knobs of
// the seeds: focal loss, per-step weighted sequence cross-entropy, binary cross-entropy with
// logits.
//
// Padding (every class loss and binary_cross_entropy_with_logits): `lengths` (i64 (N)) counts
// positions s < lengths[n] along dim 1 of the per-element loss (the target's dim 1 for class
// losses: (N, T) targets of (N, C, T) inputs), or `mask` has a leading prefix of the per-element
// loss shape (broadcast over the rest): u8 0/1 (a boolean mask) or f32/f64 (a weight m >= 0).
// Masked-out elements (length exceeded, m = 0) contribute nothing to the value or the gradient:
// their targets are not even checked, so padding may hold any class index. Mean reduction
// divides by the summed weight of the valid elements, i.e. by sum(m * w), where w is the weight
// PyTorch's own mean divides by (the target's class weight for nll_loss / cross_entropy, 1 for
// focal_loss and binary_cross_entropy_with_logits).
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
  Tensor lengths;                         // padding (file comment): i64 (N), or undefined
  Tensor mask;                            // padding (file comment): u8 or float, or undefined
};

// Options of focal_loss.
struct FocalLossOptions {
  double gamma = 2.0;  // focusing exponent, >= 0 (0 with alpha 1: cross_entropy)
  double alpha = 1.0;  // one weight for every class (used when `weight` is undefined)
  Tensor weight;       // per-class alpha (C), same dtype as the input; undefined: `alpha`
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::mean;  // mean divides by sum(m) over counted targets
  Tensor lengths;
  Tensor mask;
};

// Options of sequence_cross_entropy: the class-loss options plus the layout and step weights.
struct SequenceLossOptions {
  bool batch_first = false;  // logits (N, T, C) and step-shaped tensors (N, T); else (T, N, ...)
  Tensor step_weights;       // (T), same dtype as the logits: weight of step t; undefined: 1
  Tensor weight;             // per-class weights (C)
  int64_t ignore_index = -100;
  double label_smoothing = 0.0;
  Reduction reduction = Reduction::mean;  // mean divides by sum(m * s_t * w[target])
  Tensor lengths;                         // i64 (N): valid steps per sequence
  Tensor mask;                            // (T, N) or (N, T) as the logits' leading dims
};

// Options of binary_cross_entropy_with_logits (PyTorch's).
struct BceOptions {
  Tensor weight;      // broadcastable to the input: rescales each element's loss
  Tensor pos_weight;  // (C) or broadcastable: weight of the positive term, over the last dim
  Reduction reduction = Reduction::mean;  // mean divides by sum(m) (the element count unpadded)
  Tensor lengths;
  Tensor mask;
};

// Negative log-likelihood of log-probabilities (N, C) or (N, C, d...) against i64 targets
// (N) or (N, d...).
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const ClassLossOptions& opt = {});
// log_softmax over dim 1 followed by nll_loss, with optional label smoothing.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const ClassLossOptions& opt = {});
// Multi-class focal loss on logits (N, C) or (N, C, d...) with i64 targets, per element
//   FL = -alpha_t (1 - p_t)^gamma log p_t,  log p_t = log_softmax(x)[target],
// alpha_t = weight[target] (or alpha); ignored and masked elements give 0 (Lin et al., 2017, in
// its softmax form; torchvision has only the sigmoid form).
Tensor focal_loss(const Tensor& logits, const Tensor& target, const FocalLossOptions& opt = {});
// Cross-entropy of sequence outputs: logits (T, N, C) (or (N, T, C) with batch_first) against
// targets per step ((T, N) or (N, T)) or one per sequence ((N), repeated at every step); step t's
// loss is multiplied by step_weights[t] (see linear_step_weights for the seed's ramp).
Tensor sequence_cross_entropy(const Tensor& logits, const Tensor& target,
                              const SequenceLossOptions& opt = {});
// The seed's step ramp: s_t = (t + 1) / T for t in [0, T), as a (T) tensor of dtype.
Tensor linear_step_weights(int64_t steps, DType dtype = DType::f32);
// Binary cross-entropy on logits x against targets y in [0, 1] of x's shape, per element
//   l = w * [(1 - y) x + (1 + (pw - 1) y) (log(1 + exp(-|x|)) + max(-x, 0))]
// which is max(x, 0) - x y + log(1 + exp(-|x|)) for pw = 1: never overflows.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BceOptions& opt = {});
// (a - b)^2 reduced.
Tensor mse_loss(const Tensor& a, const Tensor& b, Reduction reduction = Reduction::mean);

}  // namespace signet
