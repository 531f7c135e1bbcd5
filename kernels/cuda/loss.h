// Class-loss kernels on f32 over (n, c, inner) inputs with i64 targets (n, inner): negative
// log-likelihood as kernels/reference/nll.h, and cross-entropy on logits fused (log-softmax,
// class weights, label smoothing) with its backward, equal to the cpu's composition
// log_softmax -> nll -> smoothing terms (engine/ops/loss.cpp); binary cross-entropy on logits
// fused per element with its backward. Focal and sequence losses compose these with the
// softmax, elementwise and reduction kernels. One thread per output
// element (per target position for cross-entropy), no atomics: deterministic.
#pragma once
#include <cstdint>

#include "kernels/common/nll_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// Class-index validation on the device (no host round trip): *first_bad = min(*first_bad, i) for
// each target position i that is neither a class nor ignore_index; the caller fills *first_bad
// with all ones bits before and reads it when the host next reads from the device (see
// engine/cuda_target_check.h). Launch status.
cudaError_t class_target_check(const kernels::NllDesc& d, const int64_t* target,
                               uint64_t* first_bad);

// loss[n, j] = -w[t] * logp[n, t, j], wsum[n, j] = w[t] (both 0 where t == ignore_index); weight
// may be null (all ones). An out-of-range target gives a NaN loss and wsum 0 and is never used as
// an index (class_target_check reports it). Launch status.
cudaError_t nll_forward_f32(const kernels::NllDesc& d, const float* logp, const int64_t* target,
                            const float* weight, float* loss, float* wsum);
// dlogp[n, k, j] = -w[t] * dloss[n, j] where k == t != ignore_index, else 0. Launch status.
cudaError_t nll_backward_f32(const kernels::NllDesc& d, const int64_t* target, const float* weight,
                             const float* dloss, float* dlogp);

// Per target position (s, j) with logp = log_softmax(x) over the classes and t its target:
// loss = (1 - eps) * -w[t] logp[t] + eps / c * sum_k -w[k] logp[k], wsum = w[t]; both 0 where
// t == ignore_index; a NaN loss and wsum 0 where t is out of range. weight may be null (all ones).
// Launch status.
cudaError_t cross_entropy_forward_f32(const kernels::NllDesc& d, float eps, const float* x,
                                      const int64_t* target, const float* weight, float* loss,
                                      float* wsum);
// dx from the logits x and dloss: with p = softmax(x), W = sum_k w[k] and g = dloss[s, j],
// dx[k] = p[k] g ((1 - eps) w[t] + eps W / c) - g ((1 - eps) w[t] [k == t] + eps w[k] / c);
// 0 where t == ignore_index, NaN where t is out of range. Launch status.
cudaError_t cross_entropy_backward_f32(const kernels::NllDesc& d, float eps, const float* x,
                                       const int64_t* target, const float* weight,
                                       const float* dloss, float* dx);

// Per element i < n of contiguous logits x and targets y (the optional weight w, pos_weight pw
// and padding weight m already broadcast to n elements; null for all ones), with
// sp = log(1 + exp(-|x|)) + max(-x, 0): loss = w m ((1 - y) x + (1 + (pw - 1) y) sp). Launch
// status.
cudaError_t bce_with_logits_forward_f32(int64_t n, const float* x, const float* y, const float* w,
                                        const float* pw, const float* m, float* loss);
// dx = dloss w m ((1 - y) - (1 + (pw - 1) y) (1 - sigmoid(x))), the derivative of the smooth
// forward everywhere (also at x = 0). Launch status.
cudaError_t bce_with_logits_backward_f32(int64_t n, const float* x, const float* y, const float* w,
                                         const float* pw, const float* m, const float* dloss,
                                         float* dx);

// out[i] = keep[i] == 0 ? ignore_index : target[i] over n elements: the padded positions of a
// sequence loss set to ignore_index on the device. Launch status.
cudaError_t mask_targets_i64(int64_t n, const int64_t* target, const float* keep,
                             int64_t ignore_index, int64_t* out);

// The padding weights of a sequence loss from per-sample lengths, checked on the device:
// keep[s, t] = t < lengths[s] ? 1 : 0 over (n, steps); a length outside [0, steps] makes its row
// NaN and *first_bad = min(*first_bad, s) (filled and read as for class_target_check). Launch
// status.
cudaError_t length_padding_f32(int64_t n, int64_t steps, const int64_t* lengths, float* keep,
                               uint64_t* first_bad);
// A loss mask as f32 weights, checked on the device: one of mask_u8 (values 0 or 1) and mask_f32
// (finite weights >= 0) is given; keep[i] is its value, or NaN with *first_bad = min(*first_bad,
// i) for any other value. Launch status.
cudaError_t mask_padding_f32(int64_t n, const uint8_t* mask_u8, const float* mask_f32, float* keep,
                             uint64_t* first_bad);

}  // namespace signet::cuda
