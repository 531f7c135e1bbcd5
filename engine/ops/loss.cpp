#include "engine/ops/loss.h"

#include "engine/autograd.h"
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
// runs; returns its descriptor.
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
  std::vector<int64_t> t = target.to_vector<int64_t>();
  for (size_t i = 0; i < t.size(); ++i)
    SIGNET_CHECK(t[i] == opt.ignore_index || (t[i] >= 0 && t[i] < c), op, ": target ", t[i],
                 " at position ", index_str(target.shape(), static_cast<int64_t>(i)),
                 " is out of range for ", c, " classes (valid: 0..", c - 1, " or ignore_index ",
                 opt.ignore_index, ")");
  NllDesc d;
  d.n = input.size(0);
  d.c = c;
  d.inner = shape_numel(Shape(input.shape().begin() + 2, input.shape().end()));
  d.ignore_index = opt.ignore_index;
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
        {{DType::f32, &nll_forward_ref<float>}, {DType::f64, &nll_forward_ref<double>}}}}};
  static const dispatch::Op<NllBackwardFn, NllDesc> bwd{
      "nll_loss_backward",
      {{"v1_reference",
        Device::Type::cpu,
        {{DType::f32, &nll_backward_ref<float>}, {DType::f64, &nll_backward_ref<double>}}}}};
  Tensor lp = logp.detach().contiguous();
  Tensor tg = target.contiguous();
  Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
  Tensor loss = empty(target.shape(), logp.dtype(), logp.device());
  Tensor wsum = empty(target.shape(), logp.dtype(), logp.device());
  op.run(logp.device(), logp.dtype(), d, d, lp.raw_data(), tg.data<int64_t>(),
         w.defined() ? w.raw_data() : nullptr, loss.raw_data(), wsum.raw_data());
  if (autograd::needs_grad({&logp})) {
    Shape shape = logp.shape();
    autograd::record(
        "NllLossBackward", {&logp}, {&loss}, {tg, w}, [d, shape](const Grads& g, const Grads& s) {
          Tensor go = g[0].contiguous();
          Tensor gi = empty(shape, go.dtype(), go.device());
          bwd.run(gi.device(), gi.dtype(), d, d, s[0].data<int64_t>(),
                  s[1].defined() ? s[1].raw_data() : nullptr, go.raw_data(), gi.raw_data());
          return Grads{gi};
        });
  }
  return {loss, wsum};
}

// Reduces per-element class losses; mean divides by the summed weights of the counted targets.
Tensor reduce_class_loss(const Tensor& loss, const Tensor& wsum, Reduction reduction) {
  if (reduction == Reduction::none) return loss;
  if (reduction == Reduction::sum) return sum(loss);
  return div(sum(loss), sum(wsum));
}

// 1 where target is counted, 0 where it equals ignore_index (dtype of the loss).
Tensor counted_mask(const Tensor& target, int64_t ignore_index, DType dtype) {
  std::vector<double> keep;
  for (int64_t t : target.to_vector<int64_t>()) keep.push_back(t == ignore_index ? 0.0 : 1.0);
  return from_vector<double>(keep, target.shape()).to(dtype);
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
  NllDesc d = check_class_problem("nll_loss", log_probs, target, opt);
  auto [loss, wsum] = nll_elements(d, log_probs, target, opt.weight);
  return reduce_class_loss(loss, wsum, opt.reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const ClassLossOptions& opt) {
  const double eps = opt.label_smoothing;
  SIGNET_CHECK(eps >= 0.0 && eps <= 1.0, "cross_entropy: label_smoothing must be in [0, 1], got ",
               eps);
  if (logits.defined() && logits.dim() == 1)
    return unbatched(&cross_entropy, "cross_entropy", logits, target, opt);
  NllDesc d = check_class_problem("cross_entropy", logits, target, opt);
  Tensor logp = log_softmax(logits, 1);
  auto [loss, wsum] = nll_elements(d, logp, target, opt.weight);
  if (eps == 0.0) return reduce_class_loss(loss, wsum, opt.reduction);
  // PyTorch: (1 - eps) * nll + eps / C * sum_c(-w_c logp_c), ignored targets contributing 0.
  Tensor weighted = logp;
  if (opt.weight.defined()) {
    Shape per_class(logits.dim(), 1);
    per_class[1] = d.c;
    weighted = mul(logp, opt.weight.detach().reshape(per_class));
  }
  Tensor smooth = mul(neg(sum(weighted, {1})), counted_mask(target, d.ignore_index, logp.dtype()));
  Tensor mixed = add(loss * (1.0 - eps), smooth * (eps / static_cast<double>(d.c)));
  return reduce_class_loss(mixed, wsum, opt.reduction);
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
