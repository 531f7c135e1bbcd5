#include "engine/optim/clip_grad.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"

namespace signet::optim {
namespace {

// The norm_type-norm of one gradient, computed in float64.
double grad_norm(const Tensor& g, double norm_type) {
  Tensor a = abs(g.to(DType::f64));
  if (std::isinf(norm_type)) return a.numel() ? max(a).item() : 0.0;
  if (norm_type == 2.0) return std::sqrt(sum(mul(a, a)).item());
  return std::pow(sum(pow(a, norm_type)).item(), 1.0 / norm_type);
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  SIGNET_CHECK(norm_type >= 1 || std::isinf(norm_type),
               "clip_grad_norm_: norm_type must be >= 1 or infinity, got ", norm_type);
  SIGNET_CHECK(max_norm >= 0, "clip_grad_norm_: max_norm must be >= 0, got ", max_norm);
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  double total = 0;
  for (const Tensor& g : grads) {
    const double n = grad_norm(g, norm_type);
    if (std::isinf(norm_type))
      total = std::isnan(n) || n > total ? n : total;
    else
      total += std::pow(n, norm_type);
  }
  if (!std::isinf(norm_type)) total = std::pow(total, 1.0 / norm_type);
  if (!std::isfinite(total)) {
    SIGNET_CHECK(!error_if_nonfinite, "clip_grad_norm_: the total norm of order ", norm_type,
                 " of the gradients is ", total, "; gradients left unchanged");
    return total;
  }
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1)
    for (const Tensor& g : grads) Tensor(g).mul_(coef);
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  SIGNET_CHECK(clip_value >= 0, "clip_grad_value_: clip_value must be >= 0, got ", clip_value);
  NoGradGuard no_grad;
  for (const Tensor& p : params)
    if (p.defined() && p.grad().defined()) {
      Tensor g = p.grad();
      g.copy_(clamp(g, -clip_value, clip_value));
    }
}

}  // namespace signet::optim
