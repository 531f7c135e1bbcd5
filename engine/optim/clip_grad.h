// Gradient clipping as torch.nn.utils: by global norm over all parameters, and by value.
#pragma once
#include <limits>
#include <vector>

#include "engine/tensor.h"

namespace signet::optim {

// Scales the gradients of params in place so that their global norm_type-norm (2, any p >= 1,
// or infinity) is at most max_norm (the 2-norm of cuda gradients through clip_grad_norm_2_; other
// norms of cuda gradients in f32 device ops): coefficient max_norm / (norm + 1e-6) when below 1.
// Returns the norm before clipping. A NaN or infinite norm is returned and not applied (gradients
// stay as they are), or throws when error_if_nonfinite. Parameters without a gradient are skipped.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

// The 2-norm clip of clip_grad_norm_ returning the norm as a 0-d f64 tensor on the gradients'
// device without reading it: on cuda two reduction passes compute the norm and the scale on the
// device and the gradients are scaled by that device scalar, so nothing waits for the host.
// All gradients must be on one device. Parameters without a gradient are skipped.
Tensor clip_grad_norm_2_(const std::vector<Tensor>& params, double max_norm);

// Clamps every gradient element of params into [-clip_value, clip_value] in place.
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

// norm_type for the maximum norm.
constexpr double kInfNorm = std::numeric_limits<double>::infinity();

}  // namespace signet::optim
