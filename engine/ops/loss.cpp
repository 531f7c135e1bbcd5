#include "engine/ops/loss.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "engine/cuda_kernels.h"
#include "engine/cuda_target_check.h"
#include "engine/dispatch.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "kernels/reference/nll.h"

namespace signet {
namespace {

using kernels::NllDesc;
using Grads = std::vector<Tensor>;
using NllFn = void (*)(const NllDesc&, const void*, const int64_t*, const void*, void*, void*);
using NllBackwardFn = void (*)(const NllDesc&, const int64_t*, const void*, const void*, void*);
using CrossEntropyFn = void (*)(const NllDesc&, double, const void*, const int64_t*, const void*,
                                void*, void*);
using CrossEntropyBackwardFn = void (*)(const NllDesc&, double, const void*, const int64_t*,
                                        const void*, const void*, void*);
using BceFn = void (*)(int64_t, const void*, const void*, const void*, const void*, const void*,
                       void*);
using BceBackwardFn = void (*)(int64_t, const void*, const void*, const void*, const void*,
                               const void*, const void*, void*);

// Adapts ref::nll_forward<T> to the untyped dispatch signature.
template <class T>
void nll_forward_ref(const NllDesc& d, const void* logp, const int64_t* target, const void* weight,
                     void* loss, void* wsum) {
  ref::nll_forward<T>(d, static_cast<const T*>(logp), target, static_cast<const T*>(weight),
                      static_cast<T*>(loss), static_cast<T*>(wsum));
}

// Adapts ref::nll_backward<T> to the untyped dispatch signature.
template <class T>
void nll_backward_ref(const NllDesc& d, const int64_t* target, const void* weight,
                      const void* dloss, void* dlogp) {
  ref::nll_backward<T>(d, target, static_cast<const T*>(weight), static_cast<const T*>(dloss),
                       static_cast<T*>(dlogp));
}

// "[1, 2]": the multi-index of flat row-major position at in shape.
std::string index_str(const Shape& shape, int64_t at) {
  Shape idx(shape.size());
  for (size_t i = shape.size(); i-- > 0;) {
    idx[i] = at % shape[i];
    at /= shape[i];
  }
  return shape_str(idx);
}

// Checks dtypes, shapes, weight and every target of an (N, C, d...) problem before any kernel
// runs; returns its descriptor. Targets on a cuda device are checked by a kernel instead, without
// a host round trip, and a bad one is reported at the next read from the device
// (engine/cuda_target_check.h).
NllDesc check_class_problem(const char* op, const Tensor& input, const Tensor& target,
                            const ClassLossOptions& opt) {
  check_defined(op, input);
  check_defined(op, target);
  check_dtype(op, input, {DType::f32, DType::f64});
  SIGNET_CHECK(target.dtype() == DType::i64, op, ": target must hold class indices (i64), got ",
               dtype_name(target.dtype()), " ", shape_str(target.shape()));
  SIGNET_CHECK(input.dim() >= 2, op, ": input must be (N, C) or (N, C, d...), got ",
               shape_str(input.shape()));
  SIGNET_CHECK(target.device() == input.device(), op, ": input on ", input.device().str(),
               " but target on ", target.device().str());
  Shape expect = {input.size(0)};
  expect.insert(expect.end(), input.shape().begin() + 2, input.shape().end());
  SIGNET_CHECK(target.shape() == expect, op, ": input ", shape_str(input.shape()), " and target ",
               shape_str(target.shape()), ": expected target shape ", shape_str(expect));
  const int64_t c = input.size(1);
  if (opt.weight.defined()) {
    SIGNET_CHECK(opt.weight.dim() == 1 && opt.weight.size(0) == c, op, ": weight ",
                 shape_str(opt.weight.shape()), " does not match the ", c, " classes of input ",
                 shape_str(input.shape()));
    SIGNET_CHECK(opt.weight.dtype() == input.dtype(), op, ": weight has dtype ",
                 dtype_name(opt.weight.dtype()), " but input has ", dtype_name(input.dtype()));
    SIGNET_CHECK(opt.weight.device() == input.device(), op, ": input on ", input.device().str(),
                 " but weight on ", opt.weight.device().str());
  }
  NllDesc d;
  d.n = input.size(0);
  d.c = c;
  d.inner = shape_numel(Shape(input.shape().begin() + 2, input.shape().end()));
  d.ignore_index = opt.ignore_index;
  const int64_t ignore = opt.ignore_index;
  auto message = [op, shape = target.shape(), c, ignore](int64_t at, int64_t t) {
    return std::string(op) + ": target " + std::to_string(t) + " at position " +
           index_str(shape, at) + " is out of range for " + std::to_string(c) +
           " classes (valid: 0.." + std::to_string(c - 1) + " or ignore_index " +
           std::to_string(ignore) + ")";
  };
  if (!target.device().is_cpu()) {
    cuda_check_class_targets(d, target, message);
    return d;
  }
  std::vector<int64_t> t = target.to_vector<int64_t>();
  for (size_t i = 0; i < t.size(); ++i)
    SIGNET_CHECK(t[i] == ignore || (t[i] >= 0 && t[i] < c), message(int64_t(i), t[i]));
  return d;
}

// Per-element losses -w[t] logp[t] (target's shape) and target weights w[t] (0 where ignored)
// of a checked problem; the gradient flows to logp only.
std::pair<Tensor, Tensor> nll_elements(const NllDesc& d, const Tensor& logp, const Tensor& target,
                                       const Tensor& weight) {
  static const dispatch::Op<NllFn, NllDesc> op{
      "nll_loss",
      {{"v1_reference",
        Device::Type::cpu,
        {{DType::f32, &nll_forward_ref<float>}, {DType::f64, &nll_forward_ref<double>}}},
       {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_nll_forward_f32}}}}};
  static const dispatch::Op<NllBackwardFn, NllDesc> bwd{
      "nll_loss_backward",
      {{"v1_reference",
        Device::Type::cpu,
        {{DType::f32, &nll_backward_ref<float>}, {DType::f64, &nll_backward_ref<double>}}},
       {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_nll_backward_f32}}}}};
  Tensor lp = logp.detach().contiguous();
  Tensor tg = target.contiguous();
  Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
  Tensor loss = empty(target.shape(), logp.dtype(), logp.device());
  Tensor wsum = empty(target.shape(), logp.dtype(), logp.device());
  op.run(logp.device(), logp.dtype(), d, d, lp.raw_data(),
         static_cast<const int64_t*>(tg.raw_data()), w.defined() ? w.raw_data() : nullptr,
         loss.raw_data(), wsum.raw_data());
  if (autograd::needs_grad({&logp})) {
    Shape shape = logp.shape();
    autograd::record(
        "NllLossBackward", {&logp}, {&loss}, {tg, w}, [d, shape](const Grads& g, const Grads& s) {
          Tensor go = g[0].contiguous();
          Tensor gi = empty(shape, go.dtype(), go.device());
          bwd.run(gi.device(), gi.dtype(), d, d, static_cast<const int64_t*>(s[0].raw_data()),
                  s[1].defined() ? s[1].raw_data() : nullptr, go.raw_data(), gi.raw_data());
          return Grads{gi};
        });
  }
  return {loss, wsum};
}

// Reduces per-element class losses, times the padding weights pad when defined; mean divides by
// the summed weights (wsum times pad) of the counted targets.
Tensor reduce_class_loss(Tensor loss, Tensor wsum, Reduction reduction, const Tensor& pad = {}) {
  if (pad.defined()) {
    loss = mul(loss, pad);
    wsum = mul(wsum, pad);
  }
  if (reduction == Reduction::none) return loss;
  if (reduction == Reduction::sum) return sum(loss);
  return div(sum(loss), sum(wsum));
}

// The padding weights of a per-element loss of `shape` (see loss.h), shaped to broadcast over
// it, of dtype on device; undefined when neither lengths nor mask is given. Lengths and masks on
// the cpu are checked there; on a cuda device a kernel builds the weights and checks the values
// without a host round trip, a bad one reported at the next read from the device
// (engine/cuda_target_check.h). An f64 mask on a device is read on the host: the device kernels
// are f32, as are the cuda losses it weights.
Tensor padding_weights(const char* op, const Shape& shape, const Tensor& lengths,
                       const Tensor& mask, DType dtype, Device device) {
  SIGNET_CHECK(!(lengths.defined() && mask.defined()), op,
               ": give lengths or mask, not both (loss shape ", shape_str(shape), ")");
  Shape out = shape;
  Tensor pad;
  if (lengths.defined()) {
    SIGNET_CHECK(lengths.dtype() == DType::i64, op, ": lengths must be i64, got ",
                 dtype_name(lengths.dtype()), " ", shape_str(lengths.shape()));
    SIGNET_CHECK(shape.size() >= 2, op,
                 ": lengths need a per-element loss of shape (N, T, ...), got ", shape_str(shape));
    SIGNET_CHECK(lengths.dim() == 1 && lengths.size(0) == shape[0], op, ": lengths ",
                 shape_str(lengths.shape()), " do not match the ", shape[0],
                 " samples of the per-element loss ", shape_str(shape));
    const int64_t steps = shape[1];
    auto message = [op, shape, steps](int64_t n, int64_t len) {
      return detail::cat(op, ": lengths[", n, "] = ", len, " is outside [0, ", steps,
                         "] (per-element loss ", shape_str(shape), ")");
    };
    out = {shape[0], steps};
    if (!lengths.device().is_cpu()) {
      pad = cuda_length_padding(lengths, steps, message);
    } else {
      std::vector<int64_t> len = lengths.contiguous().to_vector<int64_t>();
      std::vector<double> w;
      for (int64_t n = 0; n < shape[0]; ++n) {
        SIGNET_CHECK(len[n] >= 0 && len[n] <= steps, message(n, len[n]));
        for (int64_t t = 0; t < steps; ++t) w.push_back(t < len[n] ? 1.0 : 0.0);
      }
      pad = from_vector<double>(w, out);
    }
  } else if (mask.defined()) {
    check_dtype(op, mask, {DType::u8, DType::f32, DType::f64});
    const bool prefix = mask.dim() >= 1 && static_cast<size_t>(mask.dim()) <= shape.size() &&
                        std::equal(mask.shape().begin(), mask.shape().end(), shape.begin());
    SIGNET_CHECK(prefix, op, ": mask ", shape_str(mask.shape()),
                 " must have a leading prefix of the per-element loss shape ", shape_str(shape));
    const bool binary = mask.dtype() == DType::u8;
    auto message = [op, binary, mshape = mask.shape()](int64_t at, double v) {
      return detail::cat(op, ": mask value ", v, " at position ", index_str(mshape, at),
                         binary ? " is not 0 or 1" : " is not a finite weight >= 0");
    };
    out = mask.shape();
    if (!mask.device().is_cpu() && mask.dtype() != DType::f64) {
      pad = cuda_mask_padding(mask, message);
    } else {
      std::vector<double> w = mask.cpu().contiguous().to(DType::f64).to_vector<double>();
      for (size_t i = 0; i < w.size(); ++i)
        SIGNET_CHECK(binary ? (w[i] == 0 || w[i] == 1) : (w[i] >= 0 && std::isfinite(w[i])),
                     message(static_cast<int64_t>(i), w[i]));
      pad = from_vector<double>(w, out);
    }
  } else {
    return Tensor();
  }
  out.resize(shape.size(), 1);
  return pad.reshape(out).to(dtype).to(device);
}

// The target with masked-out elements set to ignore_index (so they are neither checked nor
// counted; on a cuda device by a kernel) and the padding weights (undefined when there is no
// padding).
std::pair<Tensor, Tensor> pad_target(const char* op, const Tensor& input, const Tensor& target,
                                     const Tensor& lengths, const Tensor& mask,
                                     int64_t ignore_index) {
  if (!lengths.defined() && !mask.defined()) return {target, Tensor()};
  check_defined(op, input);
  check_defined(op, target);
  check_dtype(op, input, {DType::f32, DType::f64});
  SIGNET_CHECK(target.dtype() == DType::i64, op, ": target must hold class indices (i64), got ",
               dtype_name(target.dtype()), " ", shape_str(target.shape()));
  Tensor pad = padding_weights(op, target.shape(), lengths, mask, input.dtype(), input.device());
  if (!target.device().is_cpu()) {  // on the device: the targets are not read on the host
    using MaskFn = void (*)(int64_t, const int64_t*, const void*, int64_t, int64_t*);
    static const dispatch::Op<MaskFn> mask_op{
        "mask_targets", {{"v1_cuda", Device::Type::cuda, {{DType::i64, &cuda_mask_targets_i64}}}}};
    SIGNET_CHECK(pad.dtype() == DType::f32, op, ": on ", target.device().str(),
                 " the input must be f32, got ", dtype_name(pad.dtype()));
    const Tensor keep = pad.expand(target.shape()).contiguous(), tg = target.contiguous();
    Tensor out = empty(target.shape(), DType::i64, target.device());
    mask_op.run(target.device(), DType::i64, {}, tg.numel(),
                static_cast<const int64_t*>(tg.raw_data()), keep.raw_data(), ignore_index,
                static_cast<int64_t*>(out.raw_data()));
    return {out, pad};
  }
  std::vector<double> w =
      pad.cpu().expand(target.shape()).contiguous().to(DType::f64).to_vector<double>();
  std::vector<int64_t> t = target.cpu().contiguous().to_vector<int64_t>();
  for (size_t i = 0; i < t.size(); ++i)
    if (w[i] == 0) t[i] = ignore_index;
  return {from_vector<int64_t>(t, target.shape()).to(target.device()), pad};
}

// 1 where target is counted, 0 where it equals ignore_index (dtype of the loss, target's
// device).
Tensor counted_mask(const Tensor& target, int64_t ignore_index, DType dtype) {
  std::vector<double> keep;
  for (int64_t t : target.cpu().to_vector<int64_t>()) keep.push_back(t == ignore_index ? 0.0 : 1.0);
  return from_vector<double>(keep, target.shape()).to(dtype).to(target.device());
}

// Runs a class loss on an unbatched input (C) with a 0-d target as a batch of one.
Tensor unbatched(Tensor (*loss)(const Tensor&, const Tensor&, const ClassLossOptions&),
                 const char* op, const Tensor& input, const Tensor& target,
                 const ClassLossOptions& opt) {
  check_defined(op, target);
  SIGNET_CHECK(target.dim() == 0, op, ": input ", shape_str(input.shape()),
               " (one sample) needs a 0-d target, got target ", shape_str(target.shape()));
  Tensor out = loss(input.unsqueeze(0), target.unsqueeze(0), opt);
  return opt.reduction == Reduction::none ? out.reshape({}) : out;
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const ClassLossOptions& opt) {
  SIGNET_CHECK(opt.label_smoothing == 0.0,
               "nll_loss: label_smoothing applies to cross_entropy only, got ",
               opt.label_smoothing);
  if (log_probs.defined() && log_probs.dim() == 1)
    return unbatched(&nll_loss, "nll_loss", log_probs, target, opt);
  auto [tg, pad] =
      pad_target("nll_loss", log_probs, target, opt.lengths, opt.mask, opt.ignore_index);
  NllDesc d = check_class_problem("nll_loss", log_probs, tg, opt);
  auto [loss, wsum] = nll_elements(d, log_probs, tg, opt.weight);
  return reduce_class_loss(loss, wsum, opt.reduction, pad);
}

namespace {

// Per-element cross-entropy and target weights on a device in one fused kernel (log-softmax,
// class weights, label smoothing eps), with its fused backward; the cpu composes the same
// math from log_softmax, nll_elements and the smoothing terms.
std::pair<Tensor, Tensor> cross_entropy_fused(const NllDesc& d, double eps, const Tensor& logits,
                                              const Tensor& target, const Tensor& weight) {
  static const dispatch::Op<CrossEntropyFn, NllDesc> op{
      "cross_entropy",
      {{"v1_cuda_fused", Device::Type::cuda, {{DType::f32, &cuda_cross_entropy_forward_f32}}}}};
  static const dispatch::Op<CrossEntropyBackwardFn, NllDesc> bwd{
      "cross_entropy_backward",
      {{"v1_cuda_fused", Device::Type::cuda, {{DType::f32, &cuda_cross_entropy_backward_f32}}}}};
  Tensor x = logits.detach().contiguous();
  Tensor tg = target.contiguous();
  Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
  Tensor loss = empty(target.shape(), x.dtype(), x.device());
  Tensor wsum = empty(target.shape(), x.dtype(), x.device());
  op.run(x.device(), x.dtype(), d, d, eps, x.raw_data(), static_cast<const int64_t*>(tg.raw_data()),
         w.defined() ? w.raw_data() : nullptr, loss.raw_data(), wsum.raw_data());
  if (autograd::needs_grad({&logits})) {
    autograd::record("CrossEntropyBackward", {&logits}, {&loss}, {x, tg, w},
                     [d, eps](const Grads& g, const Grads& s) {
                       Tensor go = g[0].contiguous();
                       Tensor gi = empty(s[0].shape(), s[0].dtype(), s[0].device());
                       bwd.run(gi.device(), gi.dtype(), d, d, eps, s[0].raw_data(),
                               static_cast<const int64_t*>(s[1].raw_data()),
                               s[2].defined() ? s[2].raw_data() : nullptr, go.raw_data(),
                               gi.raw_data());
                       return Grads{gi};
                     });
  }
  return {loss, wsum};
}

// Per-element cross-entropy (with label smoothing) and target weights of a padded target.
std::pair<Tensor, Tensor> cross_entropy_elements(const char* op, const Tensor& logits,
                                                 const Tensor& target,
                                                 const ClassLossOptions& opt) {
  const double eps = opt.label_smoothing;
  SIGNET_CHECK(eps >= 0.0 && eps <= 1.0, op, ": label_smoothing must be in [0, 1], got ", eps);
  NllDesc d = check_class_problem(op, logits, target, opt);
  if (!logits.device().is_cpu()) return cross_entropy_fused(d, eps, logits, target, opt.weight);
  Tensor logp = log_softmax(logits, 1);
  auto [loss, wsum] = nll_elements(d, logp, target, opt.weight);
  if (eps == 0.0) return {loss, wsum};
  // PyTorch: (1 - eps) * nll + eps / C * sum_c(-w_c logp_c), ignored targets contributing 0.
  Tensor weighted = logp;
  if (opt.weight.defined()) {
    Shape per_class(logits.dim(), 1);
    per_class[1] = d.c;
    weighted = mul(logp, opt.weight.detach().reshape(per_class));
  }
  Tensor smooth = mul(neg(sum(weighted, {1})), counted_mask(target, d.ignore_index, logp.dtype()));
  return {add(loss * (1.0 - eps), smooth * (eps / static_cast<double>(d.c))), wsum};
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const ClassLossOptions& opt) {
  if (logits.defined() && logits.dim() == 1)
    return unbatched(&cross_entropy, "cross_entropy", logits, target, opt);
  auto [tg, pad] =
      pad_target("cross_entropy", logits, target, opt.lengths, opt.mask, opt.ignore_index);
  auto [loss, wsum] = cross_entropy_elements("cross_entropy", logits, tg, opt);
  return reduce_class_loss(loss, wsum, opt.reduction, pad);
}

Tensor focal_loss(const Tensor& logits, const Tensor& target, const FocalLossOptions& opt) {
  SIGNET_CHECK(opt.gamma >= 0 && std::isfinite(opt.gamma), "focal_loss: gamma must be >= 0, got ",
               opt.gamma);
  SIGNET_CHECK(opt.alpha >= 0 && std::isfinite(opt.alpha), "focal_loss: alpha must be >= 0, got ",
               opt.alpha);
  check_defined("focal_loss", logits);
  SIGNET_CHECK(logits.dim() >= 2, "focal_loss: input must be (N, C) or (N, C, d...), got ",
               shape_str(logits.shape()));
  ClassLossOptions co;
  co.weight = opt.weight;
  co.ignore_index = opt.ignore_index;
  auto [tg, pad] =
      pad_target("focal_loss", logits, target, opt.lengths, opt.mask, opt.ignore_index);
  NllDesc d = check_class_problem("focal_loss", logits, tg, co);
  Tensor logp = log_softmax(logits, 1);
  auto [nll, counted] = nll_elements(d, logp, tg, Tensor());  // -log p_t and 1 (0: ignored)
  Tensor loss = opt.gamma == 0.0 ? nll : mul(pow(1.0 - exp(neg(nll)), opt.gamma), nll);
  if (opt.weight.defined())
    loss = mul(loss, nll_elements(d, logp.detach(), tg, opt.weight).second);
  else if (opt.alpha != 1.0)
    loss = loss * opt.alpha;
  return reduce_class_loss(loss, counted, opt.reduction, pad);
}

Tensor sequence_cross_entropy(const Tensor& logits, const Tensor& target,
                              const SequenceLossOptions& opt) {
  const char* op = "sequence_cross_entropy";
  check_defined(op, logits);
  check_defined(op, target);
  SIGNET_CHECK(logits.dim() == 3, op, ": logits must be ",
               opt.batch_first ? "(N, T, C)" : "(T, N, C)", ", got ", shape_str(logits.shape()));
  const int64_t steps = logits.size(opt.batch_first ? 1 : 0);
  const int64_t batch = logits.size(opt.batch_first ? 0 : 1);
  // (N, C, T) logits and (N, T) step-shaped tensors: the class-loss layout.
  Tensor x = opt.batch_first ? logits.permute({0, 2, 1}) : logits.permute({1, 2, 0});
  auto to_nt = [&](const Tensor& t) { return opt.batch_first ? t : t.transpose(0, 1); };
  Tensor tg;
  if (target.dim() == 1) {
    SIGNET_CHECK(target.size(0) == batch, op, ": one target per sequence must be (N) = (", batch,
                 "), got ", shape_str(target.shape()), " for logits ", shape_str(logits.shape()));
    tg = target.unsqueeze(1).expand({batch, steps}).contiguous();
  } else {
    const Shape want = opt.batch_first ? Shape{batch, steps} : Shape{steps, batch};
    SIGNET_CHECK(target.shape() == want, op, ": target ", shape_str(target.shape()),
                 " must be (N) or ", shape_str(want), " for logits ", shape_str(logits.shape()));
    tg = to_nt(target).contiguous();
  }
  Tensor mask = opt.mask;
  if (mask.defined()) {
    const Shape want = opt.batch_first ? Shape{batch, steps} : Shape{steps, batch};
    SIGNET_CHECK(mask.shape() == want, op, ": mask ", shape_str(mask.shape()), " must be ",
                 shape_str(want), " for logits ", shape_str(logits.shape()));
    mask = to_nt(mask).contiguous();
  }
  ClassLossOptions co;
  co.weight = opt.weight;
  co.ignore_index = opt.ignore_index;
  co.label_smoothing = opt.label_smoothing;
  auto [padded, pad] = pad_target(op, x, tg, opt.lengths, mask, opt.ignore_index);
  auto [loss, wsum] = cross_entropy_elements(op, x, padded, co);
  if (opt.step_weights.defined()) {
    const Tensor& s = opt.step_weights;
    SIGNET_CHECK(s.dim() == 1 && s.size(0) == steps, op, ": step_weights ", shape_str(s.shape()),
                 " must be (T) = (", steps, ") for logits ", shape_str(logits.shape()));
    SIGNET_CHECK(s.dtype() == logits.dtype(), op, ": step_weights have dtype ",
                 dtype_name(s.dtype()), " but logits have ", dtype_name(logits.dtype()));
    Tensor st = s.detach().reshape({1, steps});
    loss = mul(loss, st);
    wsum = mul(wsum, st);
  }
  return reduce_class_loss(loss, wsum, opt.reduction, pad);
}

Tensor linear_step_weights(int64_t steps, DType dtype) {
  SIGNET_CHECK(steps > 0, "linear_step_weights: steps must be > 0, got ", steps);
  return arange(1.0, static_cast<double>(steps) + 0.5, 1.0, DType::f64).to(dtype) /
         static_cast<double>(steps);
}

namespace {

// Per-element BCE with logits on a device in one fused kernel, with its fused backward (the
// gradient reaches the input only, as on the cpu); weight, pos_weight and the padding weights
// pad (each may be undefined) are broadcast to the input's shape first.
Tensor bce_fused(const Tensor& input, const Tensor& target, const Tensor& weight,
                 const Tensor& pos_weight, const Tensor& pad) {
  static const dispatch::Op<BceFn> op{
      "binary_cross_entropy_with_logits",
      {{"v1_cuda_fused", Device::Type::cuda, {{DType::f32, &cuda_bce_with_logits_forward_f32}}}}};
  static const dispatch::Op<BceBackwardFn> bwd{
      "binary_cross_entropy_with_logits_backward",
      {{"v1_cuda_fused", Device::Type::cuda, {{DType::f32, &cuda_bce_with_logits_backward_f32}}}}};
  const Shape& shape = input.shape();
  auto full = [&](const Tensor& t) {
    return t.defined() ? t.detach().expand(shape).contiguous() : Tensor();
  };
  auto ptr = [](const Tensor& t) -> const void* { return t.defined() ? t.raw_data() : nullptr; };
  Tensor x = input.detach().contiguous(), y = target.detach().contiguous();
  Tensor w = full(weight), pw = full(pos_weight), m = full(pad);
  Tensor loss = empty(shape, x.dtype(), x.device());
  op.run(x.device(), x.dtype(), {}, x.numel(), x.raw_data(), y.raw_data(), ptr(w), ptr(pw), ptr(m),
         loss.raw_data());
  if (autograd::needs_grad({&input})) {
    autograd::record("BceWithLogitsBackward", {&input}, {&loss}, {x, y, w, pw, m},
                     [ptr](const Grads& g, const Grads& s) {
                       Tensor go = g[0].contiguous();
                       Tensor gi = empty(s[0].shape(), s[0].dtype(), s[0].device());
                       bwd.run(gi.device(), gi.dtype(), {}, gi.numel(), s[0].raw_data(),
                               s[1].raw_data(), ptr(s[2]), ptr(s[3]), ptr(s[4]), go.raw_data(),
                               gi.raw_data());
                       return Grads{gi};
                     });
  }
  return loss;
}

}  // namespace

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BceOptions& opt) {
  const char* op = "binary_cross_entropy_with_logits";
  check_defined(op, input);
  check_defined(op, target);
  check_dtype(op, input, {DType::f32, DType::f64});
  SIGNET_CHECK(target.shape() == input.shape(), op, ": input ", shape_str(input.shape()),
               " and target ", shape_str(target.shape()), " differ in shape");
  SIGNET_CHECK(target.dtype() == input.dtype(), op, ": input has dtype ", dtype_name(input.dtype()),
               " but target has ", dtype_name(target.dtype()));
  for (const Tensor* w : {&opt.weight, &opt.pos_weight}) {
    if (!w->defined()) continue;
    const char* name = w == &opt.weight ? "weight" : "pos_weight";
    SIGNET_CHECK(w->dtype() == input.dtype(), op, ": ", name, " has dtype ", dtype_name(w->dtype()),
                 " but input has ", dtype_name(input.dtype()));
    bool fits = w->dim() <= input.dim();
    for (int64_t i = 1; fits && i <= w->dim(); ++i) {
      const int64_t a = w->size(w->dim() - i), b = input.size(input.dim() - i);
      fits = a == b || a == 1;
    }
    SIGNET_CHECK(fits, op, ": ", name, " ", shape_str(w->shape()),
                 " does not broadcast to the input ", shape_str(input.shape()));
  }
  Tensor pad =
      padding_weights(op, input.shape(), opt.lengths, opt.mask, input.dtype(), input.device());
  Tensor loss;
  if (!input.device().is_cpu()) {
    loss = bce_fused(input, target, opt.weight, opt.pos_weight, pad);
  } else {
    // log(1 + exp(-x)) = log(1 + exp(-|x|)) + max(-x, 0), finite for every x.
    Tensor softplus_neg = add(log(1.0 + exp(neg(abs(input)))), relu(neg(input)));
    Tensor y = target.detach();
    if (opt.pos_weight.defined())
      loss =
          add(mul(1.0 - y, input), mul(mul(opt.pos_weight.detach() - 1.0, y) + 1.0, softplus_neg));
    else
      loss = add(mul(1.0 - y, input), softplus_neg);
    if (opt.weight.defined()) loss = mul(loss, opt.weight.detach());
    if (pad.defined()) loss = mul(loss, pad);
  }
  if (opt.reduction == Reduction::none) return loss;
  if (opt.reduction == Reduction::sum) return sum(loss);
  if (!pad.defined()) return mean(loss);
  return div(sum(loss), sum(mul(ones_like(loss), pad)));
}

Tensor mse_loss(const Tensor& a, const Tensor& b, Reduction reduction) {
  check_defined("mse_loss", a);
  check_defined("mse_loss", b);
  check_dtype("mse_loss", a, {DType::f32, DType::f64});
  check_dtype("mse_loss", b, {DType::f32, DType::f64});
  SIGNET_CHECK(a.shape() == b.shape(), "mse_loss: input ", shape_str(a.shape()), " and target ",
               shape_str(b.shape()), " differ in shape");
  SIGNET_CHECK(a.dtype() == b.dtype(), "mse_loss: input has dtype ", dtype_name(a.dtype()),
               " but target has ", dtype_name(b.dtype()));
  Tensor d = sub(a, b);
  Tensor sq = mul(d, d);
  if (reduction == Reduction::none) return sq;
  return reduction == Reduction::sum ? sum(sq) : mean(sq);
}

}  // namespace signet
