#include "engine/ops/elementwise.h"

#include "engine/autograd.h"
#include "engine/cuda_copy.h"
#include "engine/cuda_kernels.h"
#include "engine/dispatch.h"
#include "engine/ops/kernel_args.h"
#include "engine/ops/reduce.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/threads.h"
#include "kernels/reference/elementwise.h"

namespace signet {
namespace {

using kernels::BinaryOp;
using kernels::ElementwiseParams;
using kernels::StridedDesc;
using kernels::UnaryOp;
using Grads = std::vector<Tensor>;

using UnaryFn = void (*)(UnaryOp, ElementwiseParams, const StridedDesc&, const void*, void*);
using BinaryFn = void (*)(BinaryOp, ElementwiseParams, const StridedDesc&, const void*, const void*,
                          void*);
using BinaryScalarFn = void (*)(BinaryOp, ElementwiseParams, const StridedDesc&, const void*,
                                double, bool, void*);
using CopyFn = void (*)(const StridedDesc&, DType, const void*, void*);
using FillFn = void (*)(const StridedDesc&, double, void*);

// The fast CPU version (kernels/cpu/elementwise.h): contiguous output, inputs dense, scalar or
// row-broadcast; everything else runs v1_reference.
constexpr const char* kV2 = "v2_contiguous";
// copy only: a contiguous output read from a transposed or permuted input in 16x16 tiles.
constexpr const char* kV3Tiled = "v3_tiled";

// What copy's selection rule sees: the iteration space and whether no conversion is needed.
struct CopyProblem {
  StridedDesc d;
  bool same_dtype;
};

// v2's layout of d (d must fit: the rules and check_v2_fits run first).
cpu::FlatLayout flat_of(const StridedDesc& d, int inputs) {
  cpu::FlatLayout l;
  cpu::flat_layout(d, inputs, &l);
  return l;
}

// Selection rules of v2: unary (one input), binary (two), fill (none), copy (same dtype, one).
bool fits_unary(const StridedDesc& d) {
  cpu::FlatLayout l;
  return cpu::flat_layout(d, 1, &l);
}
bool fits_binary(const StridedDesc& d) {
  cpu::FlatLayout l;
  return cpu::flat_layout(d, 2, &l);
}
bool fits_fill(const StridedDesc& d) {
  cpu::FlatLayout l;
  return cpu::flat_layout(d, 0, &l);
}
bool fits_copy(const CopyProblem& p) {
  return p.same_dtype && fits_unary(p.d);
}
bool fits_copy_tiled(const CopyProblem& p) {
  cpu::TransposeLayout l;
  return p.same_dtype && cpu::transpose_layout(p.d, &l);
}

// Throws when SIGNET_IMPL_ forces impl on a cpu problem it cannot run (it never falls back).
void check_fits(const dispatch::OpBase& op, const char* impl, bool fits, const Tensor& out,
                const std::vector<const Tensor*>& inputs, const char* needs) {
  if (!out.device().is_cpu() || fits || op.forced() != impl) return;
  auto describe = [](const Tensor& t) {
    return std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape()) +
           (t.is_contiguous() ? "" : " (strided)");
  };
  std::string got = "output " + describe(out);
  for (const Tensor* t : inputs) got += ", input " + describe(*t);
  SIGNET_FAIL(op.name(), ": ", impl, " needs ", needs, "; got ", got);
}

// check_fits for v2.
void check_v2_fits(const dispatch::OpBase& op, bool fits, const Tensor& out,
                   const std::vector<const Tensor*>& inputs) {
  check_fits(op, kV2, fits, out, inputs,
             "a contiguous output and inputs that are contiguous, one value or one row repeated, "
             "with the output's dtype");
}

// Adapts cpu::unary_v2<T> to the untyped dispatch signature.
template <class T>
void unary_v2(UnaryOp op, ElementwiseParams p, const StridedDesc& d, const void* a, void* out) {
  cpu::unary_v2<T>(op, p, flat_of(d, 1), static_cast<const T*>(a), static_cast<T*>(out),
                   cpu::default_threads(), cpu::active_simd_path());
}

// Adapts cpu::binary_v2<T> to the untyped dispatch signature.
template <class T>
void binary_v2(BinaryOp op, ElementwiseParams p, const StridedDesc& d, const void* a, const void* b,
               void* out) {
  cpu::binary_v2<T>(op, p, flat_of(d, 2), static_cast<const T*>(a), static_cast<const T*>(b),
                    static_cast<T*>(out), cpu::default_threads(), cpu::active_simd_path());
}

// Adapts cpu::copy_tiled_v3<T> (same dtype only: the rule and check_fits see to it).
template <class T>
void copy_tiled_v3(const StridedDesc& d, DType, const void* src, void* dst) {
  cpu::TransposeLayout l;
  cpu::transpose_layout(d, &l);
  cpu::copy_tiled_v3<T>(l, static_cast<const T*>(src), static_cast<T*>(dst),
                        cpu::default_threads());
}

// Adapts cpu::copy_v2<T> (same dtype only: the rule and check_v2_fits see to it).
template <class T>
void copy_v2(const StridedDesc& d, DType, const void* src, void* dst) {
  cpu::copy_v2<T>(flat_of(d, 1), static_cast<const T*>(src), static_cast<T*>(dst),
                  cpu::default_threads());
}

// Adapts cpu::fill_v2<T>.
template <class T>
void fill_v2(const StridedDesc& d, double value, void* out) {
  cpu::fill_v2<T>(flat_of(d, 0).n, static_cast<T>(value), static_cast<T*>(out),
                  cpu::default_threads());
}

// fill<bf16> goes through float: bf16 has no conversion from double.
template <>
void fill_v2<bf16>(const StridedDesc& d, double value, void* out) {
  cpu::fill_v2<bf16>(flat_of(d, 0).n, bf16(static_cast<float>(value)), static_cast<bf16*>(out),
                     cpu::default_threads());
}

// Adapts ref::unary<T> to the untyped dispatch signature.
template <class T>
void unary_ref(UnaryOp op, ElementwiseParams p, const StridedDesc& d, const void* a, void* out) {
  ref::unary<T>(op, p, d, static_cast<const T*>(a), static_cast<T*>(out));
}

// Adapts ref::binary<T> to the untyped dispatch signature.
template <class T>
void binary_ref(BinaryOp op, ElementwiseParams p, const StridedDesc& d, const void* a,
                const void* b, void* out) {
  ref::binary<T>(op, p, d, static_cast<const T*>(a), static_cast<const T*>(b),
                 static_cast<T*>(out));
}

// Converts from any source dtype into To through ref::cast.
template <class To>
void copy_ref(const StridedDesc& d, DType from, const void* src, void* dst) {
  To* out = static_cast<To*>(dst);
  switch (from) {
    case DType::f32:
      ref::cast<To, float>(d, static_cast<const float*>(src), out);
      break;
    case DType::f64:
      ref::cast<To, double>(d, static_cast<const double*>(src), out);
      break;
    case DType::i64:
      ref::cast<To, int64_t>(d, static_cast<const int64_t*>(src), out);
      break;
    case DType::u8:
      ref::cast<To, uint8_t>(d, static_cast<const uint8_t*>(src), out);
      break;
    case DType::bf16:
      ref::cast<To, bf16>(d, static_cast<const bf16*>(src), out);
      break;
  }
}

// Fills with value converted to T.
template <class T>
void fill_ref(const StridedDesc& d, double value, void* out) {
  ref::fill<T>(d, static_cast<T>(value), static_cast<T*>(out));
}

// fill<bf16> goes through float: bf16 has no conversion from double.
template <>
void fill_ref<bf16>(const StridedDesc& d, double value, void* out) {
  ref::fill<bf16>(d, bf16(static_cast<float>(value)), static_cast<bf16*>(out));
}

// The registry entry of one unary op (v2 and reference kernels on f32 and f64, cuda on f32).
dispatch::Op<UnaryFn, StridedDesc> unary_op(const char* name) {
  return {name,
          {{kV2,
            Device::Type::cpu,
            {{DType::f32, &unary_v2<float>}, {DType::f64, &unary_v2<double>}},
            &fits_unary},
           {"v1_reference",
            Device::Type::cpu,
            {{DType::f32, &unary_ref<float>}, {DType::f64, &unary_ref<double>}}},
           {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_unary_f32}}}}};
}

// The registry entry of one binary op (v2 and reference kernels on f32 and f64, cuda on f32).
dispatch::Op<BinaryFn, StridedDesc> binary_op(const char* name) {
  return {name,
          {{kV2,
            Device::Type::cpu,
            {{DType::f32, &binary_v2<float>}, {DType::f64, &binary_v2<double>}},
            &fits_binary},
           {"v1_reference",
            Device::Type::cpu,
            {{DType::f32, &binary_ref<float>}, {DType::f64, &binary_ref<double>}}},
           {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_binary_f32}}}}};
}

// Runs a unary kernel into a new contiguous tensor (no autograd).
Tensor unary_raw(const dispatch::Op<UnaryFn, StridedDesc>& op, UnaryOp code, const Tensor& x,
                 ElementwiseParams p = {}) {
  check_dtype(op.name().c_str(), x, {DType::f32, DType::f64});
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  StridedDesc d = strided_desc(op.name().c_str(), x.shape(), out.strides(), x.strides());
  check_v2_fits(op, fits_unary(d), out, {&x});
  op.run(x.device(), x.dtype(), d, code, p, d, x.raw_data(), out.raw_data());
  return out;
}

// Runs binary op code on a device tensor t and a scalar s (on the left when scalar_first) into
// a new contiguous tensor (no autograd).
Tensor binary_with_scalar(const dispatch::Op<BinaryFn, StridedDesc>& op, BinaryOp code,
                          const Tensor& t, double s, bool scalar_first, ElementwiseParams p) {
  static const dispatch::Op<BinaryScalarFn> scalar_op{
      "binary_scalar", {{"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_binary_scalar_f32}}}}};
  Tensor out = empty(t.shape(), t.dtype(), t.device());
  StridedDesc d = strided_desc(op.name().c_str(), t.shape(), out.strides(), t.strides());
  scalar_op.run(t.device(), t.dtype(), {}, code, p, d, t.raw_data(), s, scalar_first,
                out.raw_data());
  return out;
}

// Runs a broadcasting binary kernel into a new contiguous tensor (no autograd).
Tensor binary_raw(const dispatch::Op<BinaryFn, StridedDesc>& op, BinaryOp code, const Tensor& a,
                  const Tensor& b, ElementwiseParams p = {}) {
  const char* name = op.name().c_str();
  check_defined(name, a);
  check_defined(name, b);
  check_dtype(name, a, {DType::f32, DType::f64});
  check_dtype(name, b, {DType::f32, DType::f64});
  SIGNET_CHECK(a.dtype() == b.dtype(), name, ": dtypes differ (", dtype_name(a.dtype()), " ",
               shape_str(a.shape()), " vs ", dtype_name(b.dtype()), " ", shape_str(b.shape()),
               "); convert one with .to()");
  // A 0-d cpu tensor (a scalar operand) beside a device tensor goes to the kernel by value.
  const bool a_scalar = a.dim() == 0 && a.device().is_cpu() && !b.device().is_cpu();
  const bool b_scalar = b.dim() == 0 && b.device().is_cpu() && !a.device().is_cpu();
  if (a_scalar || b_scalar)
    return binary_with_scalar(op, code, a_scalar ? b : a, (a_scalar ? a : b).item(), a_scalar, p);
  SIGNET_CHECK(a.device() == b.device(), name, ": tensors on different devices (", a.device().str(),
               " vs ", b.device().str(), ")");
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = empty(shape, a.dtype(), a.device());
  StridedDesc d = strided_desc(name, shape, out.strides(), broadcast_strides(a, shape),
                               broadcast_strides(b, shape));
  check_v2_fits(op, fits_binary(d), out, {&a, &b});
  op.run(a.device(), a.dtype(), d, code, p, d, a.raw_data(), b.raw_data(), out.raw_data());
  return out;
}

// Records a one-input node whose gradient is fn(grad, saved).
void record_unary(const char* name, const Tensor& x, Tensor& out, std::vector<Tensor> saved,
                  std::vector<bool> saved_outputs,
                  std::function<Tensor(const Tensor&, const std::vector<Tensor>&)> fn) {
  if (!autograd::needs_grad({&x})) return;
  autograd::record(
      name, {&x}, {&out}, std::move(saved),
      [fn](const Grads& g, const Grads& s) { return Grads{fn(g[0], s)}; },
      std::move(saved_outputs));
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  static const auto op = binary_op("add");
  Tensor out = binary_raw(op, BinaryOp::add, a, b);
  if (autograd::needs_grad({&a, &b})) {
    Shape sa = a.shape(), sb = b.shape();
    autograd::record("AddBackward", {&a, &b}, {&out}, {}, [sa, sb](const Grads& g, const Grads&) {
      return Grads{sum_to(g[0], sa), sum_to(g[0], sb)};
    });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  static const auto op = binary_op("sub");
  Tensor out = binary_raw(op, BinaryOp::sub, a, b);
  if (autograd::needs_grad({&a, &b})) {
    Shape sa = a.shape(), sb = b.shape();
    autograd::record("SubBackward", {&a, &b}, {&out}, {}, [sa, sb](const Grads& g, const Grads&) {
      return Grads{sum_to(g[0], sa), sum_to(neg(g[0]), sb)};
    });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  static const auto op = binary_op("mul");
  Tensor out = binary_raw(op, BinaryOp::mul, a, b);
  if (autograd::needs_grad({&a, &b}))
    autograd::record("MulBackward", {&a, &b}, {&out}, {a, b}, [](const Grads& g, const Grads& s) {
      return Grads{sum_to(mul(g[0], s[1]), s[0].shape()), sum_to(mul(g[0], s[0]), s[1].shape())};
    });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  static const auto op = binary_op("div");
  Tensor out = binary_raw(op, BinaryOp::div, a, b);
  if (autograd::needs_grad({&a, &b}))
    autograd::record("DivBackward", {&a, &b}, {&out}, {a, b}, [](const Grads& g, const Grads& s) {
      Tensor ga = div(g[0], s[1]);
      Tensor gb = neg(div(mul(ga, s[0]), s[1]));
      return Grads{sum_to(ga, s[0].shape()), sum_to(gb, s[1].shape())};
    });
  return out;
}

Tensor neg(const Tensor& x) {
  static const auto op = unary_op("neg");
  Tensor out = unary_raw(op, UnaryOp::neg, x);
  record_unary("NegBackward", x, out, {}, {}, [](const Tensor& g, const Grads&) { return neg(g); });
  return out;
}

Tensor exp(const Tensor& x) {
  static const auto op = unary_op("exp");
  Tensor out = unary_raw(op, UnaryOp::exp, x);
  record_unary("ExpBackward", x, out, {out}, {true},
               [](const Tensor& g, const Grads& s) { return mul(g, s[0]); });
  return out;
}

Tensor log(const Tensor& x) {
  static const auto op = unary_op("log");
  Tensor out = unary_raw(op, UnaryOp::log, x);
  record_unary("LogBackward", x, out, {x}, {},
               [](const Tensor& g, const Grads& s) { return div(g, s[0]); });
  return out;
}

Tensor sqrt(const Tensor& x) {
  static const auto op = unary_op("sqrt");
  Tensor out = unary_raw(op, UnaryOp::sqrt, x);
  record_unary("SqrtBackward", x, out, {out}, {true},
               [](const Tensor& g, const Grads& s) { return div(g, s[0] * 2.0); });
  return out;
}

Tensor pow(const Tensor& x, double exponent) {
  static const auto op = unary_op("pow");
  Tensor out = unary_raw(op, UnaryOp::pow_scalar, x, {exponent, 0});
  record_unary("PowBackward", x, out, {x}, {}, [exponent](const Tensor& g, const Grads& s) {
    return mul(g, pow(s[0], exponent - 1) * exponent);
  });
  return out;
}

Tensor abs(const Tensor& x) {
  static const auto op = unary_op("abs");
  static const auto bwd = binary_op("abs_backward");
  Tensor out = unary_raw(op, UnaryOp::abs, x);
  record_unary("AbsBackward", x, out, {x}, {}, [](const Tensor& g, const Grads& s) {
    return binary_raw(bwd, BinaryOp::abs_backward, g, s[0]);
  });
  return out;
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  static const auto op = unary_op("clamp");
  static const auto bwd = binary_op("clamp_backward");
  SIGNET_CHECK(lo <= hi, "clamp: lower bound ", lo, " exceeds upper bound ", hi);
  Tensor out = unary_raw(op, UnaryOp::clamp, x, {lo, hi});
  record_unary("ClampBackward", x, out, {x}, {}, [lo, hi](const Tensor& g, const Grads& s) {
    return binary_raw(bwd, BinaryOp::clamp_backward, g, s[0], {lo, hi});
  });
  return out;
}

Tensor relu(const Tensor& x) {
  static const auto op = unary_op("relu");
  static const auto bwd = binary_op("relu_backward");
  Tensor out = unary_raw(op, UnaryOp::relu, x);
  record_unary("ReluBackward", x, out, {x}, {}, [](const Tensor& g, const Grads& s) {
    return binary_raw(bwd, BinaryOp::relu_backward, g, s[0]);
  });
  return out;
}

Tensor leaky_relu(const Tensor& x, double slope) {
  static const auto op = unary_op("leaky_relu");
  static const auto bwd = binary_op("leaky_relu_backward");
  Tensor out = unary_raw(op, UnaryOp::leaky_relu, x, {slope, 0});
  record_unary("LeakyReluBackward", x, out, {x}, {}, [slope](const Tensor& g, const Grads& s) {
    return binary_raw(bwd, BinaryOp::leaky_relu_backward, g, s[0], {slope, 0});
  });
  return out;
}

Tensor sigmoid(const Tensor& x) {
  static const auto op = unary_op("sigmoid");
  static const auto bwd = binary_op("sigmoid_backward");
  Tensor out = unary_raw(op, UnaryOp::sigmoid, x);
  record_unary("SigmoidBackward", x, out, {out}, {true}, [](const Tensor& g, const Grads& s) {
    return binary_raw(bwd, BinaryOp::sigmoid_backward, g, s[0]);
  });
  return out;
}

Tensor tanh(const Tensor& x) {
  static const auto op = unary_op("tanh");
  static const auto bwd = binary_op("tanh_backward");
  Tensor out = unary_raw(op, UnaryOp::tanh, x);
  record_unary("TanhBackward", x, out, {out}, {true}, [](const Tensor& g, const Grads& s) {
    return binary_raw(bwd, BinaryOp::tanh_backward, g, s[0]);
  });
  return out;
}

Tensor gelu(const Tensor& x) {
  static const auto op = unary_op("gelu");
  static const auto bwd = binary_op("gelu_backward");
  Tensor out = unary_raw(op, UnaryOp::gelu, x);
  record_unary("GeluBackward", x, out, {x}, {}, [](const Tensor& g, const Grads& s) {
    return binary_raw(bwd, BinaryOp::gelu_backward, g, s[0]);
  });
  return out;
}

Tensor operator+(const Tensor& a, const Tensor& b) {
  return add(a, b);
}
Tensor operator-(const Tensor& a, const Tensor& b) {
  return sub(a, b);
}
Tensor operator*(const Tensor& a, const Tensor& b) {
  return mul(a, b);
}
Tensor operator/(const Tensor& a, const Tensor& b) {
  return div(a, b);
}
Tensor operator-(const Tensor& x) {
  return neg(x);
}
Tensor operator+(const Tensor& a, double b) {
  return add(a, scalar_tensor(b, a.dtype()));
}
Tensor operator-(const Tensor& a, double b) {
  return sub(a, scalar_tensor(b, a.dtype()));
}
Tensor operator*(const Tensor& a, double b) {
  return mul(a, scalar_tensor(b, a.dtype()));
}
Tensor operator/(const Tensor& a, double b) {
  return div(a, scalar_tensor(b, a.dtype()));
}
Tensor operator+(double a, const Tensor& b) {
  return add(scalar_tensor(a, b.dtype()), b);
}
Tensor operator-(double a, const Tensor& b) {
  return sub(scalar_tensor(a, b.dtype()), b);
}
Tensor operator*(double a, const Tensor& b) {
  return mul(scalar_tensor(a, b.dtype()), b);
}
Tensor operator/(double a, const Tensor& b) {
  return div(scalar_tensor(a, b.dtype()), b);
}

void copy_into(const Tensor& dst, const Tensor& src) {
  static const dispatch::Op<CopyFn, CopyProblem> op{
      "copy",
      {{kV2,
        Device::Type::cpu,
        {{DType::f32, &copy_v2<float>},
         {DType::f64, &copy_v2<double>},
         {DType::i64, &copy_v2<int64_t>},
         {DType::u8, &copy_v2<uint8_t>},
         {DType::bf16, &copy_v2<bf16>}},
        &fits_copy},
       {kV3Tiled,
        Device::Type::cpu,
        {{DType::f32, &copy_tiled_v3<float>},
         {DType::f64, &copy_tiled_v3<double>},
         {DType::i64, &copy_tiled_v3<int64_t>},
         {DType::u8, &copy_tiled_v3<uint8_t>},
         {DType::bf16, &copy_tiled_v3<bf16>}},
        &fits_copy_tiled},
       {"v1_reference",
        Device::Type::cpu,
        {{DType::f32, &copy_ref<float>},
         {DType::f64, &copy_ref<double>},
         {DType::i64, &copy_ref<int64_t>},
         {DType::u8, &copy_ref<uint8_t>},
         {DType::bf16, &copy_ref<bf16>}}},
       {"v1_cuda",
        Device::Type::cuda,
        {{DType::f32, &cuda_copy_f32}, {DType::i64, &cuda_copy_i64}, {DType::u8, &cuda_copy_u8}}}}};
  check_defined("copy", dst);
  check_defined("copy", src);
  Shape shape = broadcast_shapes(dst.shape(), src.shape(), "copy");
  SIGNET_CHECK(shape == dst.shape(), "copy: source of shape ", shape_str(src.shape()),
               " does not broadcast to destination shape ", shape_str(dst.shape()));
  if (dst.device() != src.device()) return copy_across_devices(dst, src);
  StridedDesc d = strided_desc("copy", shape, dst.strides(), broadcast_strides(src, shape));
  CopyProblem problem{d, dst.dtype() == src.dtype()};
  check_v2_fits(op, fits_copy(problem), dst, {&src});
  check_fits(op, kV3Tiled, fits_copy_tiled(problem), dst, {&src},
             "a contiguous output of the input's dtype and an input whose innermost stride is "
             "not 1 and whose dims merge into at most three");
  op.run(dst.device(), dst.dtype(), problem, d, src.dtype(), src.raw_data(), dst.raw_data());
}

void fill_into(const Tensor& dst, double value) {
  static const dispatch::Op<FillFn, StridedDesc> op{
      "fill",
      {{kV2,
        Device::Type::cpu,
        {{DType::f32, &fill_v2<float>},
         {DType::f64, &fill_v2<double>},
         {DType::i64, &fill_v2<int64_t>},
         {DType::u8, &fill_v2<uint8_t>},
         {DType::bf16, &fill_v2<bf16>}},
        &fits_fill},
       {"v1_reference",
        Device::Type::cpu,
        {{DType::f32, &fill_ref<float>},
         {DType::f64, &fill_ref<double>},
         {DType::i64, &fill_ref<int64_t>},
         {DType::u8, &fill_ref<uint8_t>},
         {DType::bf16, &fill_ref<bf16>}}},
       {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_fill_f32}}}}};
  check_defined("fill", dst);
  StridedDesc d = strided_desc("fill", dst.shape(), dst.strides());
  check_v2_fits(op, fits_fill(d), dst, {});
  op.run(dst.device(), dst.dtype(), d, d, value, dst.raw_data());
}

}  // namespace signet
