// Reference elementwise kernels: an n-d odometer over a StridedDesc, one functor per op.
#include "kernels/reference/elementwise.h"

#include <limits>
#include <type_traits>

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/common/activations.h"

namespace signet::ref {
namespace {

using kernels::BinaryOp;
using kernels::ElementwiseParams;
using kernels::kMaxDims;
using kernels::StridedDesc;
using kernels::UnaryOp;

// Calls f(out_offset, a_offset, b_offset) at every point, row-major, offsets advanced
// incrementally: the last dim is a plain loop, the others an odometer.
template <class F>
void walk(const StridedDesc& d, F f) {
  for (int i = 0; i < d.ndim; ++i)
    if (d.shape[i] == 0) return;
  const int last = d.ndim - 1;
  const int64_t n = d.ndim > 0 ? d.shape[last] : 1;
  const int64_t s0 = d.ndim > 0 ? d.stride[0][last] : 0;
  const int64_t s1 = d.ndim > 0 ? d.stride[1][last] : 0;
  const int64_t s2 = d.ndim > 0 ? d.stride[2][last] : 0;
  int64_t idx[kMaxDims] = {};
  int64_t off[3] = {0, 0, 0};
  for (;;) {
    int64_t o0 = off[0], o1 = off[1], o2 = off[2];
    for (int64_t j = 0; j < n; ++j, o0 += s0, o1 += s1, o2 += s2) f(o0, o1, o2);
    int dim = last - 1;
    for (; dim >= 0; --dim) {
      for (int k = 0; k < 3; ++k) off[k] += d.stride[k][dim];
      if (++idx[dim] < d.shape[dim]) break;
      for (int k = 0; k < 3; ++k) off[k] -= d.stride[k][dim] * d.shape[dim];
      idx[dim] = 0;
    }
    if (dim < 0) return;
  }
}

// out = f(a) over the iteration space.
template <class T, class U, class F>
void map1(const StridedDesc& d, const U* a, T* out, F f) {
  walk(d, [&](int64_t o, int64_t i, int64_t) { out[o] = f(a[i]); });
}

// out = f(a, b) over the iteration space.
template <class T, class F>
void map2(const StridedDesc& d, const T* a, const T* b, T* out, F f) {
  walk(d, [&](int64_t o, int64_t i, int64_t j) { out[o] = f(a[i], b[j]); });
}

// Every unary op, for floating-point T.
template <class T>
void unary_math(UnaryOp op, ElementwiseParams p, const StridedDesc& d, const T* a, T* out) {
  const T pa = static_cast<T>(p.a), pb = static_cast<T>(p.b);
  switch (op) {
    case UnaryOp::copy:
      return map1(d, a, out, [](T x) { return x; });
    case UnaryOp::neg:
      return map1(d, a, out, [](T x) { return -x; });
    case UnaryOp::exp:
      return map1(d, a, out, [](T x) { return std::exp(x); });
    case UnaryOp::log:
      return map1(d, a, out, [](T x) { return std::log(x); });
    case UnaryOp::sqrt:
      return map1(d, a, out, [](T x) { return std::sqrt(x); });
    case UnaryOp::abs:
      return map1(d, a, out, [](T x) { return std::abs(x); });
    case UnaryOp::relu:
      return map1(d, a, out, [](T x) { return kernels::relu(x); });
    case UnaryOp::sigmoid:
      return map1(d, a, out, [](T x) { return kernels::sigmoid(x); });
    case UnaryOp::tanh:
      return map1(d, a, out, [](T x) { return std::tanh(x); });
    case UnaryOp::gelu:
      return map1(d, a, out, [](T x) { return kernels::gelu(x); });
    case UnaryOp::pow_scalar:
      return map1(d, a, out, [pa](T x) { return std::pow(x, pa); });
    case UnaryOp::clamp:
      return map1(d, a, out, [pa, pb](T x) { return x < pa ? pa : (x > pb ? pb : x); });
    case UnaryOp::leaky_relu:
      return map1(d, a, out, [pa](T x) { return kernels::leaky_relu(x, pa); });
  }
}

}  // namespace

// Integer types support copy only; the engine never dispatches other ops on them.
template <class T>
void unary(UnaryOp op, ElementwiseParams p, const StridedDesc& d, const T* a, T* out) {
  if constexpr (std::is_floating_point_v<T>) {
    unary_math(op, p, d, a, out);
  } else if (op == UnaryOp::copy) {
    map1(d, a, out, [](T x) { return x; });
  }
}

// Binary arithmetic and the activation backward codes (a = upstream gradient).
template <class T>
void binary(BinaryOp op, ElementwiseParams p, const StridedDesc& d, const T* a, const T* b,
            T* out) {
  const T pa = static_cast<T>(p.a), pb = static_cast<T>(p.b);
  switch (op) {
    case BinaryOp::add:
      return map2(d, a, b, out, [](T x, T y) { return x + y; });
    case BinaryOp::sub:
      return map2(d, a, b, out, [](T x, T y) { return x - y; });
    case BinaryOp::mul:
      return map2(d, a, b, out, [](T x, T y) { return x * y; });
    case BinaryOp::div:
      return map2(d, a, b, out, [](T x, T y) { return x / y; });
    case BinaryOp::relu_backward:
      return map2(d, a, b, out, [](T g, T x) { return x > T(0) ? g : T(0); });
    case BinaryOp::leaky_relu_backward:
      return map2(d, a, b, out, [pa](T g, T x) { return x > T(0) ? g : g * pa; });
    case BinaryOp::gelu_backward:
      return map2(d, a, b, out, [](T g, T x) { return g * kernels::gelu_grad(x); });
    case BinaryOp::clamp_backward:
      return map2(d, a, b, out, [pa, pb](T g, T x) { return x >= pa && x <= pb ? g : T(0); });
    case BinaryOp::abs_backward:
      return map2(d, a, b, out, [](T g, T x) { return x > T(0) ? g : (x < T(0) ? -g : T(0)); });
    case BinaryOp::sigmoid_backward:
      return map2(d, a, b, out, [](T g, T y) { return g * y * (T(1) - y); });
    case BinaryOp::tanh_backward:
      return map2(d, a, b, out, [](T g, T y) { return g * (T(1) - y * y); });
  }
}

// Writes value at every point of operand 0.
template <class T>
void fill(const StridedDesc& d, T value, T* out) {
  walk(d, [&](int64_t o, int64_t, int64_t) { out[o] = value; });
}

// Converts one value; float to integer saturates (NaN becomes 0) instead of being undefined.
template <class To, class From>
To convert(From x) {
  if constexpr (std::is_same_v<From, bf16>) {
    return convert<To>(static_cast<float>(x));
  } else if constexpr (std::is_same_v<To, bf16>) {
    return bf16(static_cast<float>(x));
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    if (x != x) return To(0);
    if (x <= static_cast<From>(std::numeric_limits<To>::lowest()))
      return std::numeric_limits<To>::lowest();
    if (x >= static_cast<From>(std::numeric_limits<To>::max()))
      return std::numeric_limits<To>::max();
    return static_cast<To>(x);
  } else {
    return static_cast<To>(x);
  }
}

// out = a converted to To at every point (see convert).
template <class To, class From>
void cast(const StridedDesc& d, const From* a, To* out) {
  map1(d, a, out, [](From x) { return convert<To>(x); });
}

#define SIGNET_REF_FLOAT(T)                                                             \
  template void unary<T>(UnaryOp, ElementwiseParams, const StridedDesc&, const T*, T*); \
  template void binary<T>(BinaryOp, ElementwiseParams, const StridedDesc&, const T*, const T*, T*);
SIGNET_REF_FLOAT(float)
SIGNET_REF_FLOAT(double)
#undef SIGNET_REF_FLOAT

template void unary<int64_t>(UnaryOp, ElementwiseParams, const StridedDesc&, const int64_t*,
                             int64_t*);
template void unary<uint8_t>(UnaryOp, ElementwiseParams, const StridedDesc&, const uint8_t*,
                             uint8_t*);

template void fill<float>(const StridedDesc&, float, float*);
template void fill<double>(const StridedDesc&, double, double*);
template void fill<int64_t>(const StridedDesc&, int64_t, int64_t*);
template void fill<uint8_t>(const StridedDesc&, uint8_t, uint8_t*);
template void fill<bf16>(const StridedDesc&, bf16, bf16*);

#define SIGNET_REF_CAST(To)                                                 \
  template void cast<To, float>(const StridedDesc&, const float*, To*);     \
  template void cast<To, double>(const StridedDesc&, const double*, To*);   \
  template void cast<To, int64_t>(const StridedDesc&, const int64_t*, To*); \
  template void cast<To, uint8_t>(const StridedDesc&, const uint8_t*, To*); \
  template void cast<To, bf16>(const StridedDesc&, const bf16*, To*);
SIGNET_REF_CAST(float)
SIGNET_REF_CAST(double)
SIGNET_REF_CAST(int64_t)
SIGNET_REF_CAST(uint8_t)
SIGNET_REF_CAST(bf16)
#undef SIGNET_REF_CAST

}  // namespace signet::ref
