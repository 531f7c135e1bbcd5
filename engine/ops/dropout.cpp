#include "engine/ops/dropout.h"

#include "engine/autograd.h"
#include "engine/cuda_kernels_nn.h"
#include "engine/dispatch.h"
#include "kernels/common/philox.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/threads.h"
#include "kernels/reference/dropout.h"

namespace signet {
namespace {

using kernels::DropoutDesc;
using DropoutFn = void (*)(const DropoutDesc&, const void*, void*);

// Adapts ref::dropout_forward<T> to the untyped dispatch signature.
template <class T>
void dropout_ref(const DropoutDesc& d, const void* x, void* y) {
  ref::dropout_forward<T>(d, static_cast<const T*>(x), static_cast<T*>(y));
}

// Adapts cpu::dropout_forward_v2<T> (all OpenMP threads) to the untyped dispatch signature.
template <class T>
void dropout_v2(const DropoutDesc& d, const void* x, void* y) {
  cpu::dropout_forward_v2<T>(d, static_cast<const T*>(x), static_cast<T*>(y),
                             cpu::default_threads());
}

// Adapts cpu::dropout_forward_v3<T> (all OpenMP threads) to the untyped dispatch signature.
template <class T>
void dropout_v3(const DropoutDesc& d, const void* x, void* y) {
  cpu::dropout_forward_v3<T>(d, static_cast<const T*>(x), static_cast<T*>(y),
                             cpu::default_threads());
}

// y = x * mask * scale for the mask of d; differentiable (the backward is the same mask on dy).
Tensor apply_mask(const Tensor& x, DropoutDesc d) {
  static const dispatch::Op<DropoutFn> op(
      "dropout", {{"v3_simd", Device::Type::cpu, {{DType::f32, &dropout_v3<float>}}},
                  {"v2_tiled", Device::Type::cpu, {{DType::f32, &dropout_v2<float>}}},
                  {"v1_reference",
                   Device::Type::cpu,
                   {{DType::f32, &dropout_ref<float>}, {DType::f64, &dropout_ref<double>}}},
                  {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_dropout_f32}}}});
  Tensor xc = x.contiguous();
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  d.n = x.numel();
  op.run(x.device(), x.dtype(), {}, d, xc.raw_data(), y.raw_data());
  if (autograd::needs_grad({&x}))
    autograd::record("DropoutBackward", {&x}, {&y}, {},
                     [d](const std::vector<Tensor>& g, const std::vector<Tensor>&) {
                       return std::vector<Tensor>{apply_mask(g[0], d)};
                     });
  return y;
}

// Checks arguments, reserves the stream's counters and applies a mask of `group`-sized units.
Tensor dropout_units(const char* name, const Tensor& x, double p, bool training, RngStream& stream,
                     int64_t group) {
  check_defined(name, x);
  check_dtype(name, x, {DType::f32, DType::f64});
  SIGNET_CHECK(p >= 0.0 && p <= 1.0, name, ": p must be in [0, 1], got ", p, " (input shape ",
               shape_str(x.shape()), ")");
  if (!training || p == 0.0) return x;
  DropoutDesc d;
  d.group = group;
  d.p = p;
  d.seed = stream.seed;
  const int64_t units = group > 0 ? x.numel() / group : 0;
  d.offset = stream.reserve(kernels::dropout_blocks(static_cast<uint64_t>(units)));
  return apply_mask(x, d);
}

// Elements per channel of x when its dims are (N, C, spatial...) or (C, spatial...).
int64_t channel_size(const char* name, const Tensor& x, int64_t spatial_dims) {
  check_defined(name, x);
  SIGNET_CHECK(x.dim() == spatial_dims + 1 || x.dim() == spatial_dims + 2, name, ": expects a ",
               spatial_dims + 2, "-d (batched) or ", spatial_dims + 1, "-d input, got shape ",
               shape_str(x.shape()));
  int64_t n = 1;
  for (int64_t i = x.dim() - spatial_dims; i < x.dim(); ++i) n *= x.size(i);
  return n;
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, RngStream& stream) {
  return dropout_units("dropout", x, p, training, stream, 1);
}

Tensor dropout2d(const Tensor& x, double p, bool training, RngStream& stream) {
  return dropout_units("dropout2d", x, p, training, stream, channel_size("dropout2d", x, 2));
}

Tensor dropout3d(const Tensor& x, double p, bool training, RngStream& stream) {
  return dropout_units("dropout3d", x, p, training, stream, channel_size("dropout3d", x, 3));
}

}  // namespace signet
