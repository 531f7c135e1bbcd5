// Descriptors of the fused optimiser updates: one parameter of n contiguous elements, the
// hyper-parameters of its group and the step-dependent scalars, shared by every implementation.
#pragma once
#include <cstdint>

namespace signet::kernels {

// SGD as torch.optim.SGD: d = g + weight_decay * p; with momentum, buf = d on the first step,
// else buf = momentum * buf + (1 - dampening) * d, and d = nesterov ? d + momentum * buf : buf;
// p -= lr * d.
struct SgdDesc {
  int64_t n = 0;
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  bool first_step = false;  // the momentum buffer is not initialised yet
};

// Adam / AdamW as torch.optim (1.13), at step t (from 1):
//   decoupled (AdamW): p *= 1 - lr * weight_decay;  otherwise g += weight_decay * p
//   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g
//   amsgrad: vmax = max(vmax, v), used instead of v below
//   p -= step_size * m / (sqrt(v) / bias_correction2_sqrt + eps)
// with step_size = lr / (1 - beta1^t) and bias_correction2_sqrt = sqrt(1 - beta2^t).
struct AdamDesc {
  int64_t n = 0;
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0;
  double step_size = 0, bias_correction2_sqrt = 1;
  bool decoupled = false;
  bool amsgrad = false;
};

// RMSProp as torch.optim.RMSprop: g += weight_decay * p; s = alpha * s + (1 - alpha) * g * g;
// centered: a = alpha * a + (1 - alpha) * g, avg = sqrt(s - a * a) + eps, else sqrt(s) + eps;
// momentum > 0: buf = momentum * buf + g / avg, p -= lr * buf; else p -= lr * g / avg.
struct RmspropDesc {
  int64_t n = 0;
  double lr = 0, alpha = 0, eps = 0, weight_decay = 0, momentum = 0;
  bool centered = false;
};

}  // namespace signet::kernels
