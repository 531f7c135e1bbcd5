#include "engine/ops/softmax.h"

#include "engine/autograd.h"
#include "engine/cuda_kernels.h"
#include "engine/dispatch.h"
#include "kernels/reference/softmax.h"

namespace signet {
namespace {

using kernels::SoftmaxDesc;
using Grads = std::vector<Tensor>;
using SoftmaxFn = void (*)(const SoftmaxDesc&, const void*, void*);
using SoftmaxBackwardFn = void (*)(const SoftmaxDesc&, const void*, const void*, void*);
using ForwardOp = dispatch::Op<SoftmaxFn, SoftmaxDesc>;
using BackwardOp = dispatch::Op<SoftmaxBackwardFn, SoftmaxDesc>;

// Adapts ref::softmax_forward<T> (log-softmax when Log) to the untyped dispatch signature.
template <class T, bool Log>
void forward_ref(const SoftmaxDesc& d, const void* x, void* y) {
  ref::softmax_forward<T>(d, static_cast<const T*>(x), static_cast<T*>(y), Log);
}

// Adapts ref::softmax_backward<T> (log-softmax when Log) to the untyped dispatch signature.
template <class T, bool Log>
void backward_ref(const SoftmaxDesc& d, const void* y, const void* dy, void* dx) {
  ref::softmax_backward<T>(d, static_cast<const T*>(y), static_cast<const T*>(dy),
                           static_cast<T*>(dx), Log);
}

// The registry entry of a forward op (reference kernel on f32 and f64, cuda on f32).
template <bool Log>
ForwardOp forward_op(const char* name) {
  return {name,
          {{"v1_reference",
            Device::Type::cpu,
            {{DType::f32, &forward_ref<float, Log>}, {DType::f64, &forward_ref<double, Log>}}},
           {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_softmax_forward_f32<Log>}}}}};
}

// The registry entry of a backward op (reference kernel on f32 and f64, cuda on f32).
template <bool Log>
BackwardOp backward_op(const char* name) {
  return {name,
          {{"v1_reference",
            Device::Type::cpu,
            {{DType::f32, &backward_ref<float, Log>}, {DType::f64, &backward_ref<double, Log>}}},
           {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_softmax_backward_f32<Log>}}}}};
}

// The contiguous (outer, dim, inner) view of shape around dim.
SoftmaxDesc split(const Shape& shape, int64_t dim) {
  SoftmaxDesc d;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < dim) d.outer *= shape[i];
    if (i == dim) d.dim = shape[i];
    if (i > dim) d.inner *= shape[i];
  }
  return d;
}

// Softmax or log-softmax of x along dim; the backward reads the saved output.
Tensor softmax_along(const ForwardOp& fwd, const BackwardOp& bwd, const char* node, const Tensor& x,
                     int64_t dim) {
  const char* name = fwd.name().c_str();
  check_defined(name, x);
  check_dtype(name, x, {DType::f32, DType::f64});
  SoftmaxDesc d = split(x.shape(), normalize_dim(dim, x.dim(), name));
  Tensor xc = x.detach().contiguous();
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  fwd.run(x.device(), x.dtype(), d, d, xc.raw_data(), y.raw_data());
  if (autograd::needs_grad({&x}))
    autograd::record(node, {&x}, {&y}, {y},
                     [&bwd, d](const Grads& g, const Grads& s) {
                       Tensor go = g[0].contiguous();
                       Tensor gi = empty(s[0].shape(), s[0].dtype(), s[0].device());
                       bwd.run(gi.device(), gi.dtype(), d, d, s[0].raw_data(), go.raw_data(),
                               gi.raw_data());
                       return Grads{gi};
                     },
                     {true});
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  static const auto fwd = forward_op<false>("softmax");
  static const auto bwd = backward_op<false>("softmax_backward");
  return softmax_along(fwd, bwd, "SoftmaxBackward", x, dim);
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  static const auto fwd = forward_op<true>("log_softmax");
  static const auto bwd = backward_op<true>("log_softmax_backward");
  return softmax_along(fwd, bwd, "LogSoftmaxBackward", x, dim);
}

}  // namespace signet
