// Batch norm and layer norm ops: checks, dispatch, running statistics and autograd nodes.
#include "engine/ops/norm.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "engine/cuda_device.h"
#include "engine/cuda_kernels_nn.h"
#include "engine/dispatch.h"
#include "engine/ops/elementwise.h"
#include "kernels/cpu/batch_norm.h"
#include "kernels/cpu/layer_norm.h"
#include "kernels/cpu/threads.h"
#include "kernels/reference/batch_norm.h"
#include "kernels/reference/layer_norm.h"

namespace signet {
namespace {

using kernels::BatchNormDesc;
using kernels::LayerNormDesc;
using Grads = std::vector<Tensor>;
using TrainFn = void (*)(const BatchNormDesc&, const void* x, const void* w, const void* b, void* y,
                         void* mean, void* var, void* invstd);
using EvalFn = void (*)(const BatchNormDesc&, const void* x, const void* mean, const void* var,
                        const void* w, const void* b, void* y);
using BackwardFn = void (*)(const BatchNormDesc&, const void* x, const void* dy, const void* mean,
                            const void* invstd, const void* w, bool training, void* dx, void* dw,
                            void* db);

// Adapts ref::batch_norm_forward_train<T> to the untyped dispatch signature.
template <class T>
void train_ref(const BatchNormDesc& d, const void* x, const void* w, const void* b, void* y,
               void* mean, void* var, void* invstd) {
  ref::batch_norm_forward_train<T>(
      d, static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(b),
      static_cast<T*>(y), static_cast<T*>(mean), static_cast<T*>(var), static_cast<T*>(invstd));
}

// Adapts cpu::batch_norm_forward_train_v2 (all threads, active SIMD path).
void train_v2(const BatchNormDesc& d, const void* x, const void* w, const void* b, void* y,
              void* mean, void* var, void* invstd) {
  cpu::batch_norm_forward_train_v2(
      d, static_cast<const float*>(x), static_cast<const float*>(w), static_cast<const float*>(b),
      static_cast<float*>(y), static_cast<float*>(mean), static_cast<float*>(var),
      static_cast<float*>(invstd), cpu::default_threads(), cpu::active_simd_path());
}

// Adapts ref::batch_norm_forward_eval<T> to the untyped dispatch signature.
template <class T>
void eval_ref(const BatchNormDesc& d, const void* x, const void* mean, const void* var,
              const void* w, const void* b, void* y) {
  ref::batch_norm_forward_eval<T>(d, static_cast<const T*>(x), static_cast<const T*>(mean),
                                  static_cast<const T*>(var), static_cast<const T*>(w),
                                  static_cast<const T*>(b), static_cast<T*>(y));
}

// Adapts cpu::batch_norm_forward_eval_v2 (all threads, active SIMD path).
void eval_v2(const BatchNormDesc& d, const void* x, const void* mean, const void* var,
             const void* w, const void* b, void* y) {
  cpu::batch_norm_forward_eval_v2(d, static_cast<const float*>(x), static_cast<const float*>(mean),
                                  static_cast<const float*>(var), static_cast<const float*>(w),
                                  static_cast<const float*>(b), static_cast<float*>(y),
                                  cpu::default_threads(), cpu::active_simd_path());
}

// Adapts ref::batch_norm_backward<T> to the untyped dispatch signature.
template <class T>
void backward_ref(const BatchNormDesc& d, const void* x, const void* dy, const void* mean,
                  const void* invstd, const void* w, bool training, void* dx, void* dw, void* db) {
  ref::batch_norm_backward<T>(d, static_cast<const T*>(x), static_cast<const T*>(dy),
                              static_cast<const T*>(mean), static_cast<const T*>(invstd),
                              static_cast<const T*>(w), training, static_cast<T*>(dx),
                              static_cast<T*>(dw), static_cast<T*>(db));
}

// Adapts cpu::batch_norm_backward_v2 (all threads, active SIMD path).
void backward_v2(const BatchNormDesc& d, const void* x, const void* dy, const void* mean,
                 const void* invstd, const void* w, bool training, void* dx, void* dw, void* db) {
  cpu::batch_norm_backward_v2(d, static_cast<const float*>(x), static_cast<const float*>(dy),
                              static_cast<const float*>(mean), static_cast<const float*>(invstd),
                              static_cast<const float*>(w), training, static_cast<float*>(dx),
                              static_cast<float*>(dw), static_cast<float*>(db),
                              cpu::default_threads(), cpu::active_simd_path());
}

using LnForwardFn = void (*)(const LayerNormDesc&, const void* x, const void* w, const void* b,
                             void* y, void* mean, void* rstd);
using LnBackwardFn = void (*)(const LayerNormDesc&, const void* x, const void* dy, const void* mean,
                              const void* rstd, const void* w, void* dx, void* dw, void* db);

// Adapts ref::layer_norm_forward<T> to the untyped dispatch signature.
template <class T>
void ln_forward_ref(const LayerNormDesc& d, const void* x, const void* w, const void* b, void* y,
                    void* mean, void* rstd) {
  ref::layer_norm_forward<T>(d, static_cast<const T*>(x), static_cast<const T*>(w),
                             static_cast<const T*>(b), static_cast<T*>(y), static_cast<T*>(mean),
                             static_cast<T*>(rstd));
}

// Adapts ref::layer_norm_backward<T> to the untyped dispatch signature.
template <class T>
void ln_backward_ref(const LayerNormDesc& d, const void* x, const void* dy, const void* mean,
                     const void* rstd, const void* w, void* dx, void* dw, void* db) {
  ref::layer_norm_backward<T>(d, static_cast<const T*>(x), static_cast<const T*>(dy),
                              static_cast<const T*>(mean), static_cast<const T*>(rstd),
                              static_cast<const T*>(w), static_cast<T*>(dx), static_cast<T*>(dw),
                              static_cast<T*>(db));
}

// Adapts cpu::layer_norm_forward_v2 (all threads) to the untyped dispatch signature.
void ln_forward_v2(const LayerNormDesc& d, const void* x, const void* w, const void* b, void* y,
                   void* mean, void* rstd) {
  cpu::layer_norm_forward_v2(d, static_cast<const float*>(x), static_cast<const float*>(w),
                             static_cast<const float*>(b), static_cast<float*>(y),
                             static_cast<float*>(mean), static_cast<float*>(rstd),
                             cpu::default_threads());
}

// Adapts cpu::layer_norm_backward_v2 (all threads) to the untyped dispatch signature.
void ln_backward_v2(const LayerNormDesc& d, const void* x, const void* dy, const void* mean,
                    const void* rstd, const void* w, void* dx, void* dw, void* db) {
  cpu::layer_norm_backward_v2(d, static_cast<const float*>(x), static_cast<const float*>(dy),
                              static_cast<const float*>(mean), static_cast<const float*>(rstd),
                              static_cast<const float*>(w), static_cast<float*>(dx),
                              static_cast<float*>(dw), static_cast<float*>(db),
                              cpu::default_threads());
}

// v2_cuda_split's rule: a channel long enough for several blocks (kernels/cuda/batch_norm.h).
bool split_applies(const BatchNormDesc& d) {
  return cuda_backend().batch_norm_splits(d) > 1;
}

// The registry entry of a batch norm kernel: v2 on f32, the reference on f32 and f64, cuda on
// f32 (the split v2 first where it applies, when there is one).
template <class Fn>
dispatch::Op<Fn, BatchNormDesc> bn_op(const char* name, Fn v2, Fn ref_f32, Fn ref_f64, Fn cuda_f32,
                                      Fn cuda_split_f32 = nullptr) {
  std::vector<dispatch::Impl<Fn, BatchNormDesc>> impls = {
      {"v2_channel_fused", Device::Type::cpu, {{DType::f32, v2}}},
      {"v1_reference", Device::Type::cpu, {{DType::f32, ref_f32}, {DType::f64, ref_f64}}}};
  if (cuda_split_f32)
    impls.push_back(
        {"v2_cuda_split", Device::Type::cuda, {{DType::f32, cuda_split_f32}}, &split_applies});
  impls.push_back({"v1_cuda", Device::Type::cuda, {{DType::f32, cuda_f32}}});
  return {name, impls};
}

// The training forward op.
const dispatch::Op<TrainFn, BatchNormDesc>& train_op() {
  static const auto op =
      bn_op<TrainFn>("batch_norm_train", &train_v2, &train_ref<float>, &train_ref<double>,
                     &cuda_batch_norm_train_f32, &cuda_batch_norm_v2_train_f32);
  return op;
}

// The evaluation forward op.
const dispatch::Op<EvalFn, BatchNormDesc>& eval_op() {
  static const auto op = bn_op<EvalFn>("batch_norm_eval", &eval_v2, &eval_ref<float>,
                                       &eval_ref<double>, &cuda_batch_norm_eval_f32);
  return op;
}

// The backward op (training and evaluation).
const dispatch::Op<BackwardFn, BatchNormDesc>& backward_op() {
  static const auto op = bn_op<BackwardFn>(
      "batch_norm_backward", &backward_v2, &backward_ref<float>, &backward_ref<double>,
      &cuda_batch_norm_backward_f32, &cuda_batch_norm_v2_backward_f32);
  return op;
}

// The raw pointer of t, or null when t is undefined.
const void* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.raw_data() : nullptr;
}

// Checks that an optional per-channel tensor is a contiguous (c) tensor of x's dtype.
void check_param(const char* op, const char* what, const Tensor& t, const Shape& want,
                 const Tensor& x) {
  if (!t.defined()) return;
  SIGNET_CHECK(
      t.shape() == want && t.dtype() == x.dtype() && t.is_contiguous() && t.device() == x.device(),
      op, ": ", what, " must be a contiguous ", shape_str(want), " ", dtype_name(x.dtype()),
      " tensor on x's device (x shape ", shape_str(x.shape()), "), got shape ",
      shape_str(t.shape()), " dtype ", dtype_name(t.dtype()));
}

// The inputs of a norm node that are defined (x first).
std::vector<const Tensor*> defined_inputs(const Tensor& x, const Tensor& w, const Tensor& b) {
  std::vector<const Tensor*> in{&x};
  if (w.defined()) in.push_back(&w);
  if (b.defined()) in.push_back(&b);
  return in;
}

// running = (1 - momentum) running + momentum batch, in place (no gradient).
void update_running(Tensor& running, const Tensor& batch, double momentum) {
  NoGradGuard no_grad;
  running.mul_(1.0 - momentum);
  running.add_(batch, momentum);
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps) {
  const char* name = "batch_norm";
  check_defined(name, x);
  check_dtype(name, x, {DType::f32, DType::f64});
  SIGNET_CHECK(x.dim() >= 2, name, ": expects x of shape (N, C, ...), got ", shape_str(x.shape()));
  SIGNET_CHECK(eps > 0.0, name, ": eps must be > 0, got ", eps);
  BatchNormDesc d;
  d.n = x.size(0);
  d.c = x.size(1);
  d.inner = x.numel() / std::max<int64_t>(1, d.n * d.c);
  d.eps = eps;
  const Shape cshape{d.c};
  check_param(name, "weight", weight, cshape, x);
  check_param(name, "bias", bias, cshape, x);
  check_param(name, "running_mean", running_mean, cshape, x);
  check_param(name, "running_var", running_var, cshape, x);
  SIGNET_CHECK(running_mean.defined() == running_var.defined(), name,
               ": give both running_mean and running_var or neither (x shape ",
               shape_str(x.shape()), ")");
  const int64_t count = d.n * d.inner;
  Tensor xc = x.detach().contiguous();
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  Tensor mean = empty(cshape, x.dtype(), x.device());
  Tensor invstd = empty(cshape, x.dtype(), x.device());
  if (training) {
    SIGNET_CHECK(count > 1, name, ": expected more than 1 value per channel when training, got x ",
                 shape_str(x.shape()));
    Tensor var = empty(cshape, x.dtype(), x.device());
    train_op().run(x.device(), x.dtype(), d, d, xc.raw_data(), ptr_or_null(weight),
                   ptr_or_null(bias), y.raw_data(), mean.raw_data(), var.raw_data(),
                   invstd.raw_data());
    if (running_mean.defined()) {
      Tensor rm = running_mean, rv = running_var;
      update_running(rm, mean, momentum);
      update_running(rv, var * (static_cast<double>(count) / static_cast<double>(count - 1)),
                     momentum);
    }
  } else {
    SIGNET_CHECK(running_mean.defined(), name,
                 ": evaluation needs running_mean and running_var (x shape ", shape_str(x.shape()),
                 ")");
    eval_op().run(x.device(), x.dtype(), d, d, xc.raw_data(), running_mean.raw_data(),
                  running_var.raw_data(), ptr_or_null(weight), ptr_or_null(bias), y.raw_data());
    mean = running_mean.clone();
    if (x.device().is_cpu()) {
      Tensor rv64 = running_var.to(DType::f64);
      Tensor is64 = empty(cshape, DType::f64, x.device());
      for (int64_t c = 0; c < d.c; ++c)
        is64.data<double>()[c] = 1.0 / std::sqrt(rv64.data<double>()[c] + eps);
      invstd = is64.to(x.dtype());
    } else {
      NoGradGuard no_grad;  // f32 on the device (no f64 there): within an ulp or two of the cpu
      invstd = 1.0 / sqrt(running_var + eps);
    }
  }
  std::vector<const Tensor*> inputs = defined_inputs(x, weight, bias);
  if (autograd::needs_grad({&x, &weight, &bias})) {
    const bool want_x = x.requires_grad(), want_w = weight.defined() && weight.requires_grad(),
               want_b = bias.defined() && bias.requires_grad(), has_w = weight.defined(),
               has_b = bias.defined();
    std::vector<Tensor> saved{xc, mean, invstd};
    if (has_w) saved.push_back(weight.detach());
    autograd::record(
        "BatchNormBackward", inputs, {&y}, saved,
        [d, training, want_x, want_w, want_b, has_w, has_b](const Grads& g, const Grads& s) {
          const Tensor& xs = s[0];
          Tensor go = g[0].contiguous();
          Tensor dx = want_x ? empty(xs.shape(), xs.dtype(), xs.device()) : Tensor();
          Tensor dw = want_w ? empty({d.c}, xs.dtype(), xs.device()) : Tensor();
          Tensor db = want_b ? empty({d.c}, xs.dtype(), xs.device()) : Tensor();
          backward_op().run(xs.device(), xs.dtype(), d, d, xs.raw_data(), go.raw_data(),
                            s[1].raw_data(), s[2].raw_data(), has_w ? s[3].raw_data() : nullptr,
                            training, want_x ? dx.raw_data() : nullptr,
                            want_w ? dw.raw_data() : nullptr, want_b ? db.raw_data() : nullptr);
          Grads out{dx};
          if (has_w) out.push_back(dw);
          if (has_b) out.push_back(db);
          return out;
        });
  }
  return y;
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  const char* name = "layer_norm";
  check_defined(name, x);
  check_dtype(name, x, {DType::f32, DType::f64});
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  SIGNET_CHECK(k >= 1 && x.dim() >= k, name, ": normalized_shape ", shape_str(normalized_shape),
               " needs at least ", k, " trailing dims of x, got shape ", shape_str(x.shape()));
  for (int64_t i = 0; i < k; ++i)
    SIGNET_CHECK(x.size(x.dim() - k + i) == normalized_shape[i], name, ": normalized_shape ",
                 shape_str(normalized_shape), " does not match the trailing dims of x ",
                 shape_str(x.shape()));
  SIGNET_CHECK(eps > 0.0, name, ": eps must be > 0, got ", eps);
  check_param(name, "weight", weight, normalized_shape, x);
  check_param(name, "bias", bias, normalized_shape, x);
  LayerNormDesc d;
  d.cols = shape_numel(normalized_shape);
  d.rows = d.cols > 0 ? x.numel() / d.cols : 0;
  d.eps = eps;
  static const dispatch::Op<LnForwardFn> fwd(
      "layer_norm",
      {{"v2_rows", Device::Type::cpu, {{DType::f32, &ln_forward_v2}}},
       {"v1_reference",
        Device::Type::cpu,
        {{DType::f32, &ln_forward_ref<float>}, {DType::f64, &ln_forward_ref<double>}}},
       {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_layer_norm_forward_f32}}}});
  static const dispatch::Op<LnBackwardFn> bwd(
      "layer_norm_backward",
      {{"v2_rows", Device::Type::cpu, {{DType::f32, &ln_backward_v2}}},
       {"v1_reference",
        Device::Type::cpu,
        {{DType::f32, &ln_backward_ref<float>}, {DType::f64, &ln_backward_ref<double>}}},
       {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_layer_norm_backward_f32}}}});
  Tensor xc = x.detach().contiguous();
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  Tensor mean = empty({d.rows}, x.dtype(), x.device());
  Tensor rstd = empty({d.rows}, x.dtype(), x.device());
  fwd.run(x.device(), x.dtype(), {}, d, xc.raw_data(), ptr_or_null(weight), ptr_or_null(bias),
          y.raw_data(), mean.raw_data(), rstd.raw_data());
  std::vector<const Tensor*> inputs = defined_inputs(x, weight, bias);
  if (autograd::needs_grad({&x, &weight, &bias})) {
    const bool want_x = x.requires_grad(), want_w = weight.defined() && weight.requires_grad(),
               want_b = bias.defined() && bias.requires_grad(), has_w = weight.defined(),
               has_b = bias.defined();
    std::vector<Tensor> saved{xc, mean, rstd};
    if (has_w) saved.push_back(weight.detach());
    const Shape wshape = normalized_shape;
    autograd::record(
        "LayerNormBackward", inputs, {&y}, saved,
        [d, wshape, want_x, want_w, want_b, has_w, has_b](const Grads& g, const Grads& s) {
          const Tensor& xs = s[0];
          Tensor go = g[0].contiguous();
          Tensor dx = want_x ? empty(xs.shape(), xs.dtype(), xs.device()) : Tensor();
          Tensor dw = want_w ? empty(wshape, xs.dtype(), xs.device()) : Tensor();
          Tensor db = want_b ? empty(wshape, xs.dtype(), xs.device()) : Tensor();
          bwd.run(xs.device(), xs.dtype(), {}, d, xs.raw_data(), go.raw_data(), s[1].raw_data(),
                  s[2].raw_data(), has_w ? s[3].raw_data() : nullptr,
                  want_x ? dx.raw_data() : nullptr, want_w ? dw.raw_data() : nullptr,
                  want_b ? db.raw_data() : nullptr);
          Grads out{dx};
          if (has_w) out.push_back(dw);
          if (has_b) out.push_back(db);
          return out;
        });
  }
  return y;
}

}  // namespace signet
