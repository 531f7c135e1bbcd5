#include "engine/ops/pool.h"

#include <string>

#include "engine/autograd.h"
#include "engine/cuda_kernels_nn.h"
#include "engine/dispatch.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/threads.h"
#include "kernels/reference/pool.h"

namespace signet {
namespace {

using kernels::PoolDesc;
using Grads = std::vector<Tensor>;
using MaxFn = void (*)(const PoolDesc&, const void*, void*, int64_t*);
using MaxBackwardFn = void (*)(const PoolDesc&, const void*, const int64_t*, void*);
using AvgFn = void (*)(const PoolDesc&, const void*, void*);

// Adapts ref::max_pool_forward<T> to the untyped dispatch signature.
template <class T>
void max_ref(const PoolDesc& d, const void* x, void* y, int64_t* idx) {
  ref::max_pool_forward<T>(d, static_cast<const T*>(x), static_cast<T*>(y), idx);
}

// Adapts ref::max_pool_backward<T> to the untyped dispatch signature.
template <class T>
void max_backward_ref(const PoolDesc& d, const void* dy, const int64_t* idx, void* dx) {
  ref::max_pool_backward<T>(d, static_cast<const T*>(dy), idx, static_cast<T*>(dx));
}

// Adapts one of the averaging reference kernels (Kernel<T>) to the untyped signature.
template <class T, void (*Kernel)(const PoolDesc&, const T*, T*)>
void avg_ref(const PoolDesc& d, const void* in, void* out) {
  Kernel(d, static_cast<const T*>(in), static_cast<T*>(out));
}

// Adapts cpu::max_pool_forward_v2<T> (all threads) to the untyped dispatch signature.
template <class T>
void max_v2(const PoolDesc& d, const void* x, void* y, int64_t* idx) {
  cpu::max_pool_forward_v2<T>(d, static_cast<const T*>(x), static_cast<T*>(y), idx,
                              cpu::default_threads());
}

// Adapts cpu::max_pool_backward_v2<T> (all threads) to the untyped dispatch signature.
template <class T>
void max_backward_v2(const PoolDesc& d, const void* dy, const int64_t* idx, void* dx) {
  cpu::max_pool_backward_v2<T>(d, static_cast<const T*>(dy), idx, static_cast<T*>(dx),
                               cpu::default_threads());
}

// Adapts one of the averaging v2 kernels (Kernel<T>, all threads) to the untyped signature.
template <class T, void (*Kernel)(const PoolDesc&, const T*, T*, int)>
void avg_v2(const PoolDesc& d, const void* in, void* out) {
  Kernel(d, static_cast<const T*>(in), static_cast<T*>(out), cpu::default_threads());
}

// A registry entry: the fast CPU kernel (v2_name, f32 and f64, where `applies` holds; null:
// always), the reference on f32 and f64, and the cuda kernel on f32.
template <class Fn>
dispatch::Op<Fn, PoolDesc> pool_op(const std::string& name, const char* v2_name, Fn v2_f32,
                                   Fn v2_f64, bool (*applies)(const PoolDesc&), Fn f32, Fn f64,
                                   Fn cuda_f32) {
  return {name,
          {{v2_name, Device::Type::cpu, {{DType::f32, v2_f32}, {DType::f64, v2_f64}}, applies},
           {"v1_reference", Device::Type::cpu, {{DType::f32, f32}, {DType::f64, f64}}},
           {"v1_cuda", Device::Type::cuda, {{DType::f32, cuda_f32}}}}};
}

// The forward and backward entries of one averaging op.
struct AvgOps {
  dispatch::Op<AvgFn, PoolDesc> forward, backward;
};

// The max pooling entries name and name_backward.
struct MaxOps {
  dispatch::Op<MaxFn, PoolDesc> forward;
  dispatch::Op<MaxBackwardFn, PoolDesc> backward;
};

// max_poolNd and its backward.
MaxOps max_ops(const std::string& name) {
  return {pool_op<MaxFn>(name, "v2_rows", &max_v2<float>, &max_v2<double>, nullptr, &max_ref<float>,
                         &max_ref<double>, &cuda_max_pool_forward_f32),
          pool_op<MaxBackwardFn>(name + "_backward", "v2_rows", &max_backward_v2<float>,
                                 &max_backward_v2<double>, nullptr, &max_backward_ref<float>,
                                 &max_backward_ref<double>, &cuda_max_pool_backward_f32)};
}

// avg_poolNd and its backward.
AvgOps avg_ops(const std::string& name) {
  return {
      pool_op<AvgFn>(name, "v2_rows", &avg_v2<float, cpu::avg_pool_forward_v2<float>>,
                     &avg_v2<double, cpu::avg_pool_forward_v2<double>>, nullptr,
                     &avg_ref<float, ref::avg_pool_forward<float>>,
                     &avg_ref<double, ref::avg_pool_forward<double>>, &cuda_avg_pool_forward_f32),
      pool_op<AvgFn>(
          name + "_backward", "v2_rows", &avg_v2<float, cpu::avg_pool_backward_v2<float>>,
          &avg_v2<double, cpu::avg_pool_backward_v2<double>>, nullptr,
          &avg_ref<float, ref::avg_pool_backward<float>>,
          &avg_ref<double, ref::avg_pool_backward<double>>, &cuda_avg_pool_backward_f32)};
}

// adaptive_avg_poolNd and its backward (v2 for global average pooling only).
AvgOps adaptive_ops(const std::string& name) {
  return {
      pool_op<AvgFn>(name, "v2_global", &avg_v2<float, cpu::global_avg_pool_forward_v2<float>>,
                     &avg_v2<double, cpu::global_avg_pool_forward_v2<double>>, &cpu::is_global_pool,
                     &avg_ref<float, ref::adaptive_avg_pool_forward<float>>,
                     &avg_ref<double, ref::adaptive_avg_pool_forward<double>>,
                     &cuda_adaptive_avg_pool_forward_f32),
      pool_op<AvgFn>(name + "_backward", "v2_global",
                     &avg_v2<float, cpu::global_avg_pool_backward_v2<float>>,
                     &avg_v2<double, cpu::global_avg_pool_backward_v2<double>>,
                     &cpu::is_global_pool, &avg_ref<float, ref::adaptive_avg_pool_backward<float>>,
                     &avg_ref<double, ref::adaptive_avg_pool_backward<double>>,
                     &cuda_adaptive_avg_pool_backward_f32)};
}

// One value per spatial dim from a list of 1 or dims values (dims in slots 3-dims..2).
void spread(const char* op, const char* what, const Shape& v, int dims, int64_t lo, int64_t* out) {
  SIGNET_CHECK(v.size() == 1 || static_cast<int>(v.size()) == dims, op, ": ", what, " needs 1 or ",
               dims, " values, got ", shape_str(v));
  for (int i = 0; i < dims; ++i) {
    const int64_t x = v.size() == 1 ? v[0] : v[i];
    SIGNET_CHECK(x >= lo, op, ": ", what, " ", shape_str(v), " must be >= ", lo);
    out[3 - dims + i] = x;
  }
}

// Checks x (N, C, spatial...) and fills planes and in[] of a descriptor.
PoolDesc input_desc(const char* op, int dims, const Tensor& x) {
  check_defined(op, x);
  check_dtype(op, x, {DType::f32, DType::f64});
  SIGNET_CHECK(x.dim() == dims + 2, op, ": expected an input with ", dims + 2,
               " dims (N, C, spatial...), got ", shape_str(x.shape()));
  PoolDesc d;
  d.dims = dims;
  d.planes = x.size(0) * x.size(1);
  for (int i = 0; i < dims; ++i) {
    d.in[3 - dims + i] = x.size(2 + i);
    SIGNET_CHECK(x.size(2 + i) >= 1, op, ": empty spatial dim in ", shape_str(x.shape()));
  }
  SIGNET_CHECK(d.planes >= 1, op, ": empty input ", shape_str(x.shape()));
  return d;
}

// Checks a strided pooling's arguments and returns its descriptor (out[] as PyTorch's
// pooling_output_shape, ceil_mode included).
PoolDesc window_desc(const char* op, int dims, const Tensor& x, const Shape& kernel,
                     const Shape& stride, const Shape& padding, const Shape& dilation,
                     bool ceil_mode) {
  PoolDesc d = input_desc(op, dims, x);
  spread(op, "kernel", kernel, dims, 1, d.kernel);
  spread(op, "stride", stride.empty() ? kernel : stride, dims, 1, d.stride);
  spread(op, "padding", padding, dims, 0, d.pad);
  spread(op, "dilation", dilation, dims, 1, d.dilation);
  for (int s = 3 - dims; s < 3; ++s) {
    const int64_t span = d.dilation[s] * (d.kernel[s] - 1) + 1;
    SIGNET_CHECK(2 * d.pad[s] <= span, op, ": padding ", shape_str(padding),
                 " must be at most half the (dilated) kernel ", shape_str(kernel));
    const int64_t room = d.in[s] + 2 * d.pad[s] - span + (ceil_mode ? d.stride[s] - 1 : 0);
    SIGNET_CHECK(room >= 0, op, ": input ", shape_str(x.shape()), " is smaller than the kernel ",
                 shape_str(kernel));
    d.out[s] = room / d.stride[s] + 1;
    if (ceil_mode && (d.out[s] - 1) * d.stride[s] >= d.in[s] + d.pad[s]) --d.out[s];
  }
  return d;
}

// (N, C, out...) for d and x.
Shape output_shape(const PoolDesc& d, const Tensor& x) {
  Shape s{x.size(0), x.size(1)};
  for (int i = 3 - d.dims; i < 3; ++i) s.push_back(d.out[i]);
  return s;
}

// Max pooling with indices; the backward scatters through the saved indices.
std::pair<Tensor, Tensor> max_pool(const MaxOps& ops, const char* node, int dims, const Tensor& x,
                                   const Shape& kernel, const Shape& stride, const Shape& padding,
                                   const Shape& dilation, bool ceil_mode) {
  const PoolDesc d = window_desc(ops.forward.name().c_str(), dims, x, kernel, stride, padding,
                                 dilation, ceil_mode);
  const Tensor xc = x.contiguous();
  Tensor y = empty(output_shape(d, x), x.dtype(), x.device());
  Tensor idx = empty(y.shape(), DType::i64, x.device());
  ops.forward.run(x.device(), x.dtype(), d, d, xc.raw_data(), y.raw_data(),
                  static_cast<int64_t*>(idx.raw_data()));
  if (autograd::needs_grad({&x})) {
    const Shape in_shape = x.shape();
    autograd::record(node, {&x}, {&y}, {idx}, [&ops, d, in_shape](const Grads& g, const Grads& s) {
      const Tensor dy = g[0].contiguous();
      Tensor dx = empty(in_shape, dy.dtype(), dy.device());
      ops.backward.run(dy.device(), dy.dtype(), d, d, dy.raw_data(),
                       static_cast<const int64_t*>(s[0].raw_data()), dx.raw_data());
      return Grads{dx};
    });
  }
  return {y, idx};
}

// An averaging pool: forward kernel, and a backward through the matching backward kernel.
Tensor average(const AvgOps& ops, const char* node, const PoolDesc& d, const Tensor& x) {
  const Tensor xc = x.contiguous();
  Tensor y = empty(output_shape(d, x), x.dtype(), x.device());
  ops.forward.run(x.device(), x.dtype(), d, d, xc.raw_data(), y.raw_data());
  if (autograd::needs_grad({&x})) {
    const Shape in_shape = x.shape();
    autograd::record(node, {&x}, {&y}, {}, [&ops, d, in_shape](const Grads& g, const Grads&) {
      const Tensor dy = g[0].contiguous();
      Tensor dx = empty(in_shape, dy.dtype(), dy.device());
      ops.backward.run(dy.device(), dy.dtype(), d, d, dy.raw_data(), dx.raw_data());
      return Grads{dx};
    });
  }
  return y;
}

// Average pooling with PyTorch's divisor rule.
Tensor avg_pool(const AvgOps& ops, const char* node, int dims, const Tensor& x, const Shape& kernel,
                const Shape& stride, const Shape& padding, bool ceil_mode, bool count_include_pad) {
  PoolDesc d =
      window_desc(ops.forward.name().c_str(), dims, x, kernel, stride, padding, {1}, ceil_mode);
  d.count_include_pad = count_include_pad;
  return average(ops, node, d, x);
}

// Adaptive average pooling to output_size.
Tensor adaptive_avg_pool(const AvgOps& ops, const char* node, int dims, const Tensor& x,
                         const Shape& output_size) {
  const char* op = ops.forward.name().c_str();
  PoolDesc d = input_desc(op, dims, x);
  spread(op, "output_size", output_size, dims, 1, d.out);
  return average(ops, node, d, x);
}

}  // namespace

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const Shape& kernel,
                                                  const Shape& stride, const Shape& padding,
                                                  const Shape& dilation, bool ceil_mode) {
  static const MaxOps ops = max_ops("max_pool2d");
  return max_pool(ops, "MaxPool2dBackward", 2, x, kernel, stride, padding, dilation, ceil_mode);
}

std::pair<Tensor, Tensor> max_pool3d_with_indices(const Tensor& x, const Shape& kernel,
                                                  const Shape& stride, const Shape& padding,
                                                  const Shape& dilation, bool ceil_mode) {
  static const MaxOps ops = max_ops("max_pool3d");
  return max_pool(ops, "MaxPool3dBackward", 3, x, kernel, stride, padding, dilation, ceil_mode);
}

Tensor max_pool2d(const Tensor& x, const Shape& kernel, const Shape& stride, const Shape& padding,
                  const Shape& dilation, bool ceil_mode) {
  return max_pool2d_with_indices(x, kernel, stride, padding, dilation, ceil_mode).first;
}

Tensor max_pool3d(const Tensor& x, const Shape& kernel, const Shape& stride, const Shape& padding,
                  const Shape& dilation, bool ceil_mode) {
  return max_pool3d_with_indices(x, kernel, stride, padding, dilation, ceil_mode).first;
}

Tensor avg_pool2d(const Tensor& x, const Shape& kernel, const Shape& stride, const Shape& padding,
                  bool ceil_mode, bool count_include_pad) {
  static const AvgOps ops = avg_ops("avg_pool2d");
  return avg_pool(ops, "AvgPool2dBackward", 2, x, kernel, stride, padding, ceil_mode,
                  count_include_pad);
}

Tensor avg_pool3d(const Tensor& x, const Shape& kernel, const Shape& stride, const Shape& padding,
                  bool ceil_mode, bool count_include_pad) {
  static const AvgOps ops = avg_ops("avg_pool3d");
  return avg_pool(ops, "AvgPool3dBackward", 3, x, kernel, stride, padding, ceil_mode,
                  count_include_pad);
}

Tensor adaptive_avg_pool2d(const Tensor& x, const Shape& output_size) {
  static const AvgOps ops = adaptive_ops("adaptive_avg_pool2d");
  return adaptive_avg_pool(ops, "AdaptiveAvgPool2dBackward", 2, x, output_size);
}

Tensor adaptive_avg_pool3d(const Tensor& x, const Shape& output_size) {
  static const AvgOps ops = adaptive_ops("adaptive_avg_pool3d");
  return adaptive_avg_pool(ops, "AdaptiveAvgPool3dBackward", 3, x, output_size);
}

}  // namespace signet
