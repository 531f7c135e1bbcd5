#include "engine/optim/clip_grad.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/cuda_kernels.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"

namespace signet::optim {
namespace {

// The gradients of params that have one, all on one device (checked).
std::vector<Tensor> grads_of(const std::vector<Tensor>& params) {
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  for (const Tensor& g : grads)
    SIGNET_CHECK(g.device() == grads[0].device(), "clip_grad_norm_: gradients on ",
                 grads[0].device().str(), " and ", g.device().str(),
                 "; move the module to one device");
  return grads;
}

// The cuda two-pass clip: pass 1 writes each gradient's block sums of squares to its own slots,
// pass 2 reduces the slots to the norm and the scale, then each gradient is scaled on the device.
Tensor clip_on_device(const std::vector<Tensor>& grads, double max_norm) {
  const Device dev = grads[0].device();
  int64_t slots = 0;
  for (const Tensor& g : grads) {
    check_dtype("clip_grad_norm_", g, {DType::f32});
    slots += cuda_clip_partial_count(g.numel());
  }
  Tensor partials = empty({slots}, DType::f64, dev);
  Tensor out = empty({2}, DType::f64, dev);
  double* slot = static_cast<double*>(partials.raw_data());
  std::vector<Tensor> flat;
  for (const Tensor& g : grads) {
    flat.push_back(g.contiguous());
    cuda_clip_partial_sumsq_f32(flat.back().raw_data(), g.numel(), slot);
    slot += cuda_clip_partial_count(g.numel());
  }
  double* norm_scale = static_cast<double*>(out.raw_data());
  cuda_clip_norm_scale(static_cast<const double*>(partials.raw_data()), slots, max_norm,
                       norm_scale);
  for (size_t i = 0; i < grads.size(); ++i) {
    cuda_clip_scale_f32(flat[i].raw_data(), flat[i].numel(), norm_scale + 1);
    if (!flat[i].same(grads[i])) Tensor(grads[i]).copy_(flat[i]);
  }
  return out.narrow(0, 0, 1).reshape({});
}

// The norm_type-norm of one gradient, computed in float64 (f32 on a device).
double grad_norm(const Tensor& g, double norm_type) {
  Tensor a = abs(g.device().is_cpu() ? g.to(DType::f64) : g);
  if (std::isinf(norm_type)) return a.numel() ? max(a).cpu().item() : 0.0;
  if (norm_type == 2.0) return std::sqrt(sum(mul(a, a)).cpu().item());
  return std::pow(sum(pow(a, norm_type)).cpu().item(), 1.0 / norm_type);
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  SIGNET_CHECK(norm_type >= 1 || std::isinf(norm_type),
               "clip_grad_norm_: norm_type must be >= 1 or infinity, got ", norm_type);
  SIGNET_CHECK(max_norm >= 0, "clip_grad_norm_: max_norm must be >= 0, got ", max_norm);
  NoGradGuard no_grad;
  std::vector<Tensor> grads = grads_of(params);
  if (norm_type == 2.0 && !grads.empty() && !grads[0].device().is_cpu()) {
    const double total = clip_grad_norm_2_(params, max_norm).cpu().item();
    SIGNET_CHECK(std::isfinite(total) || !error_if_nonfinite,
                 "clip_grad_norm_: the total norm of order ", norm_type, " of the gradients is ",
                 total, "; gradients left unchanged");
    return total;
  }
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

Tensor clip_grad_norm_2_(const std::vector<Tensor>& params, double max_norm) {
  SIGNET_CHECK(max_norm >= 0, "clip_grad_norm_: max_norm must be >= 0, got ", max_norm);
  NoGradGuard no_grad;
  std::vector<Tensor> grads = grads_of(params);
  if (grads.empty()) return zeros({}, DType::f64);
  if (!grads[0].device().is_cpu()) return clip_on_device(grads, max_norm);
  return scalar_tensor(clip_grad_norm_(params, max_norm, 2.0), DType::f64);
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
