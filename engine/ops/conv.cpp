#include "engine/ops/conv.h"

#include <cstdint>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/cuda_kernels_nn.h"
#include "engine/dispatch.h"
#include "engine/packed_cache.h"
#include "kernels/cpu/conv_direct.h"
#include "kernels/cpu/conv_im2col.h"
#include "kernels/cpu/conv_select.h"
#include "kernels/cpu/conv_small_c.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/threads.h"
#include "kernels/reference/conv.h"

namespace signet {
namespace {

using kernels::ConvDesc;
using Grads = std::vector<Tensor>;
using ForwardFn = void (*)(const ConvDesc&, const void*, const void*, const void*, void*);
using DataFn = void (*)(const ConvDesc&, const void*, const void*, void*);
using WeightsFn = void (*)(const ConvDesc&, const void*, const void*, void*, void*);

// Adapts ref::conv_forward<T> to the untyped dispatch signature.
template <class T>
void forward_ref(const ConvDesc& d, const void* x, const void* w, const void* b, void* y) {
  ref::conv_forward<T>(d, static_cast<const T*>(x), static_cast<const T*>(w),
                       static_cast<const T*>(b), static_cast<T*>(y));
}

// Adapts ref::conv_backward_data<T> to the untyped dispatch signature.
template <class T>
void data_ref(const ConvDesc& d, const void* dy, const void* w, void* dx) {
  ref::conv_backward_data<T>(d, static_cast<const T*>(dy), static_cast<const T*>(w),
                             static_cast<T*>(dx));
}

// Adapts ref::conv_backward_weights<T> to the untyped dispatch signature.
template <class T>
void weights_ref(const ConvDesc& d, const void* x, const void* dy, void* dw, void* db) {
  ref::conv_backward_weights<T>(d, static_cast<const T*>(x), static_cast<const T*>(dy),
                                static_cast<T*>(dw), static_cast<T*>(db));
}

// A u8 workspace tensor of conv_workspace_bytes for d on threads.
Tensor workspace(const ConvDesc& d, int threads) {
  return empty({static_cast<int64_t>(cpu::conv_workspace_bytes(d, threads))}, DType::u8);
}

// v2 forward: im2col tiles + packed SGEMM on the active SIMD path.
void forward_v2(const ConvDesc& d, const void* x, const void* w, const void* b, void* y) {
  const int threads = cpu::default_threads();
  Tensor ws = workspace(d, threads);
  cpu::conv_v2_im2col_forward(d, static_cast<const float*>(x), static_cast<const float*>(w),
                              static_cast<const float*>(b), static_cast<float*>(y), ws.raw_data(),
                              threads, cpu::active_simd_path());
}

// v2 backward-data: SGEMM into column tiles + col2im.
void data_v2(const ConvDesc& d, const void* dy, const void* w, void* dx) {
  const int threads = cpu::default_threads();
  Tensor ws = workspace(d, threads);
  cpu::conv_v2_im2col_backward_data(d, static_cast<const float*>(dy), static_cast<const float*>(w),
                                    static_cast<float*>(dx), ws.raw_data(), threads,
                                    cpu::active_simd_path());
}

// v2 backward-weights: im2col tiles + SGEMM accumulating into dw.
void weights_v2(const ConvDesc& d, const void* x, const void* dy, void* dw, void* db) {
  const int threads = cpu::default_threads();
  Tensor ws = workspace(d, threads);
  cpu::conv_v2_im2col_backward_weights(
      d, static_cast<const float*>(x), static_cast<const float*>(dy), static_cast<float*>(dw),
      static_cast<float*>(db), ws.raw_data(), threads, cpu::active_simd_path());
}

// Throws unless v3 computes pass of d (it may be forced by SIGNET_IMPL_ on any shape).
void check_v3(const ConvDesc& d, cpu::ConvPass pass, const char* suffix) {
  SIGNET_CHECK(
      cpu::conv_version_fits(cpu::ConvVersion::v3_direct, d, pass), "conv", d.dims, "d", suffix,
      ": v3_direct needs stride 1, groups 1 and the AVX-512 path",
      pass == cpu::ConvPass::backward_data ? " (and padding <= dilation * (kernel - 1))" : "",
      "; got input (", d.n, ", ", d.c, ", ", d.in[0], ", ", d.in[1], ", ", d.in[2], "), ", d.k,
      " filters of ", d.kernel[0], "x", d.kernel[1], "x", d.kernel[2], ", stride ", d.stride[0],
      ",", d.stride[1], ",", d.stride[2], ", padding ", d.pad[0], ",", d.pad[1], ",", d.pad[2],
      ", groups ", d.groups, " on ", cpu::simd_path_name(cpu::active_simd_path()));
}

// The weight of the convolution running on this thread, set around each dispatch so that v3 can
// find its packed weights: `key` as the caller passed it (perhaps a view, such as the ConvLSTM's
// h-path columns of its weight) and `data`, its contiguous values that the kernels read (null:
// none known, v3 packs into its workspace). The cache is keyed on the view, so a view used again
// finds its packing although contiguous() copies it into a new storage every call.
struct CurrentWeight {
  const Tensor* key = nullptr;
  const Tensor* data = nullptr;
};
thread_local CurrentWeight t_weight;

// Makes (key, data) the current weight of this thread for the lifetime of the scope.
class WeightScope {
 public:
  WeightScope(const Tensor& key, const Tensor& data) : prev_(t_weight) { t_weight = {&key, &data}; }
  ~WeightScope() { t_weight = prev_; }
  WeightScope(const WeightScope&) = delete;
  WeightScope& operator=(const WeightScope&) = delete;

 private:
  CurrentWeight prev_;
};

// The cached packed weights of this thread's current weight when its data is w (f32 on the cpu);
// null otherwise.
const float* cached_packing(const ConvDesc& d, const void* w, bool backward_data, int threads,
                            Tensor& hold) {
  const CurrentWeight cw = t_weight;
  if (!cw.data || cw.data->raw_data() != w || cw.data->device() != Device::cpu()) return nullptr;
  std::vector<int64_t> layout{kConvV3Packing, backward_data, d.k,        d.c,
                              d.kernel[0],    d.kernel[1],   d.kernel[2]};
  layout.insert(layout.end(), cw.key->strides().begin(), cw.key->strides().end());
  hold = packed_cache().get(*cw.key, layout, cpu::conv_v3_direct_packed_bytes(d, backward_data),
                            [&](float* out) {
                              cpu::conv_v3_direct_pack_weights(
                                  d, backward_data, static_cast<const float*>(w), out, threads);
                            });
  return PackedCache::aligned(hold);
}

// A u8 workspace tensor of v3's need for pass of d on threads (without packed weights when the
// caller has them).
Tensor workspace_v3(const ConvDesc& d, cpu::ConvPass pass, int threads, bool packed) {
  const size_t bytes = pass == cpu::ConvPass::backward_weights
                           ? cpu::conv_v3_direct_weights_workspace_bytes(d, threads)
                           : cpu::conv_v3_direct_workspace_bytes(
                                 d, pass == cpu::ConvPass::backward_data, threads, packed);
  return empty({static_cast<int64_t>(bytes)}, DType::u8);
}

// v3 forward: direct AVX-512 convolution on packed weights (cached per weight version).
void forward_v3(const ConvDesc& d, const void* x, const void* w, const void* b, void* y) {
  check_v3(d, cpu::ConvPass::forward, "");
  const int threads = cpu::default_threads();
  Tensor hold;
  const float* packed = cached_packing(d, w, false, threads, hold);
  Tensor ws = workspace_v3(d, cpu::ConvPass::forward, threads, packed != nullptr);
  cpu::conv_v3_direct_forward(d, static_cast<const float*>(x), static_cast<const float*>(w),
                              static_cast<const float*>(b), static_cast<float*>(y), ws.raw_data(),
                              threads, cpu::active_simd_path(), packed);
}

// v3 backward-data: the direct forward of the flipped, transposed weights (cached per version).
void data_v3(const ConvDesc& d, const void* dy, const void* w, void* dx) {
  check_v3(d, cpu::ConvPass::backward_data, "_backward_data");
  const int threads = cpu::default_threads();
  Tensor hold;
  const float* packed = cached_packing(d, w, true, threads, hold);
  Tensor ws = workspace_v3(d, cpu::ConvPass::backward_data, threads, packed != nullptr);
  cpu::conv_v3_direct_backward_data(d, static_cast<const float*>(dy), static_cast<const float*>(w),
                                    static_cast<float*>(dx), ws.raw_data(), threads,
                                    cpu::active_simd_path(), packed);
}

// v3 backward-weights: blocked dy chunks times the padded image, per-thread dw summed once.
void weights_v3(const ConvDesc& d, const void* x, const void* dy, void* dw, void* db) {
  check_v3(d, cpu::ConvPass::backward_weights, "_backward_weights");
  const int threads = cpu::default_threads();
  Tensor ws = workspace_v3(d, cpu::ConvPass::backward_weights, threads, false);
  cpu::conv_v3_direct_backward_weights(
      d, static_cast<const float*>(x), static_cast<const float*>(dy), static_cast<float*>(dw),
      static_cast<float*>(db), ws.raw_data(), threads, cpu::active_simd_path());
}

// v4 forward: output positions as the lanes, for first layers (few input channels).
void forward_v4(const ConvDesc& d, const void* x, const void* w, const void* b, void* y) {
  SIGNET_CHECK(cpu::conv_version_fits(cpu::ConvVersion::v4_small_c, d, cpu::ConvPass::forward),
               "conv", d.dims,
               "d: v4_small_c needs stride 1, groups 1 and the AVX-512 path; got "
               "input (",
               d.n, ", ", d.c, ", ", d.in[0], ", ", d.in[1], ", ", d.in[2], "), ", d.k,
               " filters, stride ", d.stride[0], ",", d.stride[1], ",", d.stride[2], ", groups ",
               d.groups, " on ", cpu::simd_path_name(cpu::active_simd_path()));
  const int threads = cpu::default_threads();
  Tensor ws =
      empty({static_cast<int64_t>(cpu::conv_v4_small_c_workspace_bytes(d, threads))}, DType::u8);
  cpu::conv_v4_small_c_forward(d, static_cast<const float*>(x), static_cast<const float*>(w),
                               static_cast<const float*>(b), static_cast<float*>(y), ws.raw_data(),
                               threads, cpu::active_simd_path());
}

// v4's selection rule (cpu::conv_select: the forward of first layers).
bool v4_forward_fits(const ConvDesc& d) {
  return cpu::conv_select(d, cpu::ConvPass::forward) == cpu::ConvVersion::v4_small_c;
}

// v3's selection rule for the forward (cpu::conv_select: where it fits with at least 16 output
// channels for the pass, except 1x1).
bool v3_forward_fits(const ConvDesc& d) {
  return cpu::conv_select(d, cpu::ConvPass::forward) == cpu::ConvVersion::v3_direct;
}

// v3's selection rule for backward-data (cpu::conv_select).
bool v3_data_fits(const ConvDesc& d) {
  return cpu::conv_select(d, cpu::ConvPass::backward_data) == cpu::ConvVersion::v3_direct;
}

// v3's selection rule for backward-weights (cpu::conv_select).
bool v3_weights_fits(const ConvDesc& d) {
  return cpu::conv_select(d, cpu::ConvPass::backward_weights) == cpu::ConvVersion::v3_direct;
}

// v2 needs at least 4 filters per group to give the GEMM rows; depthwise and near-depthwise
// convolutions stay on v1 until a direct kernel exists.
bool im2col_fits(const ConvDesc& d) {
  return d.k / d.groups >= 4;
}

// The cuda v1_naive twin runs only when forced: v2_igemm covers every shape it does. So do the
// tensor-core versions (v3_igemm_tf32, v4_igemm_bf16), which round their inputs.
bool never(const ConvDesc&) {
  return false;
}

// The cuda first-layer forward takes first layers: at most 4 channels a group (1 or 3 in images
// and clips) within its limit on C/groups * taps.
bool first_layer_fits(const ConvDesc& d) {
  return d.c / d.groups <= 4 && cuda_conv_first_layer_applies(d);
}

// The forward and both backward registry entries of conv2d or conv3d.
struct ConvOps {
  dispatch::Op<ForwardFn, ConvDesc> forward;
  dispatch::Op<DataFn, ConvDesc> data;
  dispatch::Op<WeightsFn, ConvDesc> weights;
};

// The three ops named name, name_backward_data and name_backward_weights.
ConvOps conv_ops(const std::string& name) {
  return {
      {name,
       {{"v4_small_c", Device::Type::cpu, {{DType::f32, &forward_v4}}, &v4_forward_fits},
        {"v3_direct", Device::Type::cpu, {{DType::f32, &forward_v3}}, &v3_forward_fits},
        {"v2_im2col", Device::Type::cpu, {{DType::f32, &forward_v2}}, &im2col_fits},
        {"v1_reference",
         Device::Type::cpu,
         {{DType::f32, &forward_ref<float>}, {DType::f64, &forward_ref<double>}}},
        {"first_layer",
         Device::Type::cuda,
         {{DType::f32, &cuda_conv_forward_first_layer_f32}},
         &first_layer_fits},
        {"v2_igemm", Device::Type::cuda, {{DType::f32, &cuda_conv_forward_igemm_f32}}},
        {"v3_igemm_tf32",
         Device::Type::cuda,
         {{DType::f32, &cuda_conv_forward_igemm_mma_f32<false>}},
         &never},
        {"v4_igemm_bf16",
         Device::Type::cuda,
         {{DType::f32, &cuda_conv_forward_igemm_mma_f32<true>}},
         &never},
        {"v1_naive", Device::Type::cuda, {{DType::f32, &cuda_conv_forward_f32}}, &never}}},
      {name + "_backward_data",
       {{"v3_direct", Device::Type::cpu, {{DType::f32, &data_v3}}, &v3_data_fits},
        {"v2_im2col", Device::Type::cpu, {{DType::f32, &data_v2}}, &im2col_fits},
        {"v1_reference",
         Device::Type::cpu,
         {{DType::f32, &data_ref<float>}, {DType::f64, &data_ref<double>}}},
        {"v2_igemm", Device::Type::cuda, {{DType::f32, &cuda_conv_backward_data_igemm_f32}}},
        {"v3_igemm_tf32",
         Device::Type::cuda,
         {{DType::f32, &cuda_conv_backward_data_igemm_mma_f32<false>}},
         &never},
        {"v4_igemm_bf16",
         Device::Type::cuda,
         {{DType::f32, &cuda_conv_backward_data_igemm_mma_f32<true>}},
         &never},
        {"v1_naive", Device::Type::cuda, {{DType::f32, &cuda_conv_backward_data_f32}}, &never}}},
      {name + "_backward_weights",
       {{"v3_direct", Device::Type::cpu, {{DType::f32, &weights_v3}}, &v3_weights_fits},
        {"v2_im2col", Device::Type::cpu, {{DType::f32, &weights_v2}}, &im2col_fits},
        {"v1_reference",
         Device::Type::cpu,
         {{DType::f32, &weights_ref<float>}, {DType::f64, &weights_ref<double>}}},
        {"v2_igemm", Device::Type::cuda, {{DType::f32, &cuda_conv_backward_weights_igemm_f32}}},
        {"v3_igemm_tf32",
         Device::Type::cuda,
         {{DType::f32, &cuda_conv_backward_weights_igemm_mma_f32<false>}},
         &never},
        {"v4_igemm_bf16",
         Device::Type::cuda,
         {{DType::f32, &cuda_conv_backward_weights_igemm_mma_f32<true>}},
         &never},
        {"v1_naive",
         Device::Type::cuda,
         {{DType::f32, &cuda_conv_backward_weights_f32}},
         &never}}}};
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

// Checks the arguments of a dims-D convolution and returns its descriptor.
ConvDesc describe(const char* op, int dims, const Tensor& x, const Tensor& w, const Tensor& b,
                  const Shape& stride, const Shape& padding, const Shape& dilation,
                  int64_t groups) {
  check_defined(op, x);
  check_defined(op, w);
  check_dtype(op, x, {DType::f32, DType::f64});
  for (const Tensor* t : {&w, &b}) {
    if (!t->defined()) continue;
    SIGNET_CHECK(t->dtype() == x.dtype() && t->device() == x.device(), op, ": input ",
                 dtype_name(x.dtype()), " ", shape_str(x.shape()), " on ", x.device().str(),
                 " but parameter ", dtype_name(t->dtype()), " ", shape_str(t->shape()), " on ",
                 t->device().str());
  }
  SIGNET_CHECK(x.dim() == dims + 2 && w.dim() == dims + 2, op, ": expected input and weight with ",
               dims + 2, " dims, got input ", shape_str(x.shape()), " and weight ",
               shape_str(w.shape()));
  ConvDesc d;
  d.dims = dims;
  d.n = x.size(0), d.c = x.size(1), d.k = w.size(0), d.groups = groups;
  SIGNET_CHECK(groups >= 1 && d.c % groups == 0 && d.k % groups == 0, op, ": groups=", groups,
               " must divide input channels ", d.c, " and output channels ", d.k);
  SIGNET_CHECK(w.size(1) * groups == d.c, op, ": weight ", shape_str(w.shape()), " needs ",
               d.c / groups, " input channels per group for input ", shape_str(x.shape()),
               " with groups=", groups);
  SIGNET_CHECK(!b.defined() || (b.dim() == 1 && b.size(0) == d.k), op, ": bias ",
               shape_str(b.defined() ? b.shape() : Shape{}), " must be [", d.k, "]");
  spread(op, "stride", stride, dims, 1, d.stride);
  spread(op, "padding", padding, dims, 0, d.pad);
  spread(op, "dilation", dilation, dims, 1, d.dilation);
  for (int i = 0; i < dims; ++i) {
    const int s = 3 - dims + i;
    d.in[s] = x.size(2 + i);
    d.kernel[s] = w.size(2 + i);
    const int64_t span = d.dilation[s] * (d.kernel[s] - 1) + 1;
    SIGNET_CHECK(d.kernel[s] >= 1 && d.in[s] + 2 * d.pad[s] >= span, op, ": input ",
                 shape_str(x.shape()), " with padding ", shape_str(padding),
                 " is smaller than the dilated kernel of weight ", shape_str(w.shape()));
    d.out[s] = (d.in[s] + 2 * d.pad[s] - span) / d.stride[s] + 1;
  }
  SIGNET_CHECK(d.n >= 1 && d.c >= 1 && d.k >= 1, op, ": empty input ", shape_str(x.shape()),
               " or weight ", shape_str(w.shape()));
  return d;
}

// The output shape (N, K, spatial out...) of d.
Shape output_shape(const ConvDesc& d) {
  Shape s{d.n, d.k};
  for (int i = 3 - d.dims; i < 3; ++i) s.push_back(d.out[i]);
  return s;
}

// The gradients (x, weight[, bias]) from dy through the two backward ops; saved = {x, weight}.
Grads conv_backward(const ConvOps& ops, const ConvDesc& d, bool need_x, bool need_w, bool has_bias,
                    const Tensor& grad, const Grads& saved) {
  Grads out(has_bias ? 3 : 2);
  if (!grad.defined()) return out;
  const Tensor dy = grad.contiguous(), x = saved[0].contiguous(), w = saved[1].contiguous();
  const WeightScope scope(saved[1], w);
  if (need_x) {
    out[0] = empty(x.shape(), dy.dtype(), dy.device());
    ops.data.run(dy.device(), dy.dtype(), d, d, dy.raw_data(), w.raw_data(), out[0].raw_data());
  }
  if (need_w) {
    out[1] = empty(w.shape(), dy.dtype(), dy.device());
    if (has_bias) out[2] = empty({d.k}, dy.dtype(), dy.device());
    ops.weights.run(dy.device(), dy.dtype(), d, d, x.raw_data(), dy.raw_data(), out[1].raw_data(),
                    has_bias ? out[2].raw_data() : nullptr);
  }
  return out;
}

// Checks, runs the forward op and records the backward through the two backward ops.
Tensor convolution(const ConvOps& ops, const char* node, int dims, const Tensor& x,
                   const Tensor& weight, const Tensor& bias, const Shape& stride,
                   const Shape& padding, const Shape& dilation, int64_t groups) {
  const char* op = ops.forward.name().c_str();
  const ConvDesc d = describe(op, dims, x, weight, bias, stride, padding, dilation, groups);
  const Tensor xc = x.contiguous(), wc = weight.contiguous();
  const Tensor bc = bias.defined() ? bias.contiguous() : Tensor();
  Tensor y = empty(output_shape(d), x.dtype(), x.device());
  const WeightScope scope(weight, wc);
  ops.forward.run(x.device(), x.dtype(), d, d, xc.raw_data(), wc.raw_data(),
                  bc.defined() ? bc.raw_data() : nullptr, y.raw_data());
  if (!autograd::needs_grad({&x, &weight, &bias})) return y;
  std::vector<const Tensor*> inputs{&x, &weight};
  if (bias.defined()) inputs.push_back(&bias);
  const bool need_x = x.requires_grad(),
             need_w = weight.requires_grad() || (bias.defined() && bias.requires_grad());
  const bool has_bias = bias.defined();
  autograd::record(node, inputs, {&y}, {x, weight},
                   [&ops, d, need_x, need_w, has_bias](const Grads& g, const Grads& s) {
                     return conv_backward(ops, d, need_x, need_w, has_bias, g[0], s);
                   });
  return y;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Shape& stride,
              const Shape& padding, const Shape& dilation, int64_t groups) {
  static const ConvOps ops = conv_ops("conv2d");
  return convolution(ops, "Conv2dBackward", 2, x, weight, bias, stride, padding, dilation, groups);
}

Tensor conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Shape& stride,
              const Shape& padding, const Shape& dilation, int64_t groups) {
  static const ConvOps ops = conv_ops("conv3d");
  return convolution(ops, "Conv3dBackward", 3, x, weight, bias, stride, padding, dilation, groups);
}

}  // namespace signet
