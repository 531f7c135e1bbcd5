// Fast CPU elementwise kernels: one functor per op applied by a flat loop the compiler
// vectorises (the build's baseline ISA, and an AVX-512 twin by target attribute), over the
// output split into contiguous thread ranges; row inputs are walked segment by segment.
#include "kernels/cpu/elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "kernels/common/activations.h"
#include "kernels/common/bf16.h"
#include "kernels/cpu/threads.h"

namespace signet::cpu {
namespace {

using kernels::BinaryOp;
using kernels::ElementwiseParams;
using kernels::UnaryOp;

#if defined(__x86_64__) || defined(__i386__)
#define SIGNET_EW_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define SIGNET_EW_HAS_AVX512 1
#else
#define SIGNET_EW_AVX512
#define SIGNET_EW_HAS_AVX512 0
#endif

// out[i] = f(a, b) for i < n; an input flagged scalar is read once, the others at i.
template <class T, bool AS, bool BS, class F>
__attribute__((always_inline)) inline void leaf_body(int64_t n, const T* a, const T* b, T* out,
                                                     F f) {
  if constexpr (AS && BS) {
    const T v = f(a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) out[i] = v;
  } else if constexpr (AS) {
    const T x = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = f(x, b[i]);
  } else if constexpr (BS) {
    const T y = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], y);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  }
}

// leaf_body compiled for the build's baseline ISA.
template <class T, bool AS, bool BS, class F>
void leaf_base(int64_t n, const T* a, const T* b, T* out, F f) {
  leaf_body<T, AS, BS>(n, a, b, out, f);
}

// leaf_body compiled for AVX-512.
template <class T, bool AS, bool BS, class F>
SIGNET_EW_AVX512 void leaf_avx512(int64_t n, const T* a, const T* b, T* out, F f) {
  leaf_body<T, AS, BS>(n, a, b, out, f);
}

// The leaf of (AS, BS) for path.
template <class T, bool AS, bool BS, class F>
auto pick_leaf(SimdPath path) {
  using Leaf = void (*)(int64_t, const T*, const T*, T*, F);
  Leaf base = &leaf_base<T, AS, BS, F>;
  return SIGNET_EW_HAS_AVX512 && path == SimdPath::avx512 ? Leaf(&leaf_avx512<T, AS, BS, F>) : base;
}

// Where output element i reads an input laid out as `layout` (j = i % inner).
template <class T>
const T* input_at(const T* p, InputLayout layout, int64_t i, int64_t j) {
  switch (layout) {
    case InputLayout::dense:
      return p + i;
    case InputLayout::row:
      return p + j;
    case InputLayout::scalar:
      break;
  }
  return p;
}

// Runs leaf over [lo, hi) of l: in one call when no input is a row, else one call per row
// segment.
template <class T, class Leaf, class F>
void run_range(const FlatLayout& l, int64_t lo, int64_t hi, const T* a, const T* b, T* out,
               Leaf leaf, F f) {
  const bool rows = l.in[0] == InputLayout::row || l.in[1] == InputLayout::row;
  const int64_t inner = rows ? l.inner : hi - lo;
  for (int64_t i = lo; i < hi;) {
    const int64_t j = rows ? i % inner : 0;
    const int64_t len = std::min(hi - i, inner - j);
    leaf(len, input_at(a, l.in[0], i, j), input_at(b, l.in[1], i, j), out + i, f);
    i += len;
  }
}

// out = f(a, b) over l on up to `threads` threads (serial below kElementwiseParallelMin).
template <class T, bool AS, bool BS, class F>
void run_flat(const FlatLayout& l, const T* a, const T* b, T* out, int threads, SimdPath path,
              F f) {
  auto leaf = pick_leaf<T, AS, BS, F>(path);
  if (l.n < kElementwiseParallelMin || threads <= 1)
    return run_range(l, 0, l.n, a, b, out, leaf, f);
  parallel_ranges(l.n, threads,
                  [&](int, int64_t lo, int64_t hi) { run_range(l, lo, hi, a, b, out, leaf, f); });
}

// Instantiates run_flat for the scalar flags of l's inputs.
template <class T, class F>
void run2(const FlatLayout& l, const T* a, const T* b, T* out, int threads, SimdPath path, F f) {
  const bool as = l.in[0] == InputLayout::scalar, bs = l.in[1] == InputLayout::scalar;
  if (as && bs) return run_flat<T, true, true>(l, a, b, out, threads, path, f);
  if (as) return run_flat<T, true, false>(l, a, b, out, threads, path, f);
  if (bs) return run_flat<T, false, true>(l, a, b, out, threads, path, f);
  run_flat<T, false, false>(l, a, b, out, threads, path, f);
}

// A one-input op as a two-input one whose second input (a itself, flagged scalar) is unused.
template <class T, class F>
void run1(const FlatLayout& l, const T* a, T* out, int threads, SimdPath path, F f) {
  FlatLayout l1 = l;
  l1.in[1] = InputLayout::scalar;
  run2(l1, a, a, out, threads, path, [f](T x, T) { return f(x); });
}

}  // namespace

// Output strides must be the row-major ones; each input is then classified dims of size 1 aside.
bool flat_layout(const kernels::StridedDesc& d, int inputs, FlatLayout* out) {
  int64_t expect[kernels::kMaxDims] = {};
  int64_t n = 1;
  for (int i = d.ndim - 1; i >= 0; --i) {
    expect[i] = n;
    n *= d.shape[i];
  }
  FlatLayout l;
  l.n = n;
  l.inner = 0;
  if (n == 0) {
    *out = l;
    return true;
  }
  for (int i = 0; i < d.ndim; ++i)
    if (d.shape[i] != 1 && d.stride[0][i] != expect[i]) return false;
  for (int k = 0; k < inputs; ++k) {
    const int64_t* s = d.stride[k + 1];
    int first = d.ndim;  // the first dim (of size > 1) this input moves along
    for (int i = 0; i < d.ndim && first == d.ndim; ++i)
      if (d.shape[i] != 1 && s[i] != 0) first = i;
    int64_t period = 1;
    for (int i = first; i < d.ndim; ++i) {
      if (d.shape[i] != 1 && s[i] != expect[i]) return false;
      period *= d.shape[i];
    }
    if (first == d.ndim) {
      l.in[k] = InputLayout::scalar;
    } else if (period == n) {
      l.in[k] = InputLayout::dense;
    } else {
      if (l.inner != 0 && l.inner != period) return false;
      l.in[k] = InputLayout::row;
      l.inner = period;
    }
  }
  if (l.inner == 0) l.inner = 1;
  *out = l;
  return true;
}

template <class T>
void unary_v2(UnaryOp op, ElementwiseParams p, const FlatLayout& l, const T* a, T* out, int threads,
              SimdPath path) {
  const T pa = static_cast<T>(p.a), pb = static_cast<T>(p.b);
  auto go = [&](auto f) { run1(l, a, out, threads, path, f); };
  switch (op) {
    case UnaryOp::copy:
      return go([](T x) { return x; });
    case UnaryOp::neg:
      return go([](T x) { return -x; });
    case UnaryOp::exp:
      return go([](T x) { return std::exp(x); });
    case UnaryOp::log:
      return go([](T x) { return std::log(x); });
    case UnaryOp::sqrt:
      return go([](T x) { return std::sqrt(x); });
    case UnaryOp::abs:
      return go([](T x) { return std::abs(x); });
    case UnaryOp::relu:
      return go([](T x) { return kernels::relu(x); });
    case UnaryOp::sigmoid:
      return go([](T x) { return kernels::sigmoid(x); });
    case UnaryOp::tanh:
      return go([](T x) { return std::tanh(x); });
    case UnaryOp::gelu:
      return go([](T x) { return kernels::gelu(x); });
    case UnaryOp::pow_scalar:
      return go([pa](T x) { return std::pow(x, pa); });
    case UnaryOp::clamp:
      return go([pa, pb](T x) { return x < pa ? pa : (x > pb ? pb : x); });
    case UnaryOp::leaky_relu:
      return go([pa](T x) { return kernels::leaky_relu(x, pa); });
  }
}

template <class T>
void binary_v2(BinaryOp op, ElementwiseParams p, const FlatLayout& l, const T* a, const T* b,
               T* out, int threads, SimdPath path) {
  const T pa = static_cast<T>(p.a), pb = static_cast<T>(p.b);
  auto go = [&](auto f) { run2(l, a, b, out, threads, path, f); };
  switch (op) {
    case BinaryOp::add:
      return go([](T x, T y) { return x + y; });
    case BinaryOp::sub:
      return go([](T x, T y) { return x - y; });
    case BinaryOp::mul:
      return go([](T x, T y) { return x * y; });
    case BinaryOp::div:
      return go([](T x, T y) { return x / y; });
    case BinaryOp::relu_backward:
      return go([](T g, T x) { return x > T(0) ? g : T(0); });
    case BinaryOp::leaky_relu_backward:
      return go([pa](T g, T x) { return x > T(0) ? g : g * pa; });
    case BinaryOp::gelu_backward:
      return go([](T g, T x) { return g * kernels::gelu_grad(x); });
    case BinaryOp::clamp_backward:
      return go([pa, pb](T g, T x) { return x >= pa && x <= pb ? g : T(0); });
    case BinaryOp::abs_backward:
      return go([](T g, T x) { return x > T(0) ? g : (x < T(0) ? -g : T(0)); });
    case BinaryOp::sigmoid_backward:
      return go([](T g, T y) { return g * y * (T(1) - y); });
    case BinaryOp::tanh_backward:
      return go([](T g, T y) { return g * (T(1) - y * y); });
  }
}

// Dense inputs copy with memcpy per thread range, rows per segment, scalars by fill.
template <class T>
void copy_v2(const FlatLayout& l, const T* a, T* out, int threads) {
  static_assert(std::is_trivially_copyable_v<T>, "copy_v2 copies bytes");
  auto range = [&](int, int64_t lo, int64_t hi) {
    const int64_t inner = l.in[0] == InputLayout::row ? l.inner : hi - lo;
    for (int64_t i = lo; i < hi;) {
      const int64_t j = l.in[0] == InputLayout::row ? i % inner : 0;
      const int64_t len = std::min(hi - i, inner - j);
      if (l.in[0] == InputLayout::scalar)
        std::fill(out + i, out + i + len, a[0]);
      else
        std::memcpy(static_cast<void*>(out + i), input_at(a, l.in[0], i, j),
                    static_cast<size_t>(len) * sizeof(T));
      i += len;
    }
  };
  if (l.n < kElementwiseParallelMin || threads <= 1) return range(0, 0, l.n);
  parallel_ranges(l.n, threads, range);
}

// Drops dims of size 1, merges dims the input walks as one, then needs <= 3 dims left.
bool transpose_layout(const kernels::StridedDesc& d, TransposeLayout* out) {
  FlatLayout flat;
  if (!flat_layout(d, 0, &flat) || flat.n == 0) return false;  // the output must be contiguous
  int64_t shape[kernels::kMaxDims], stride[kernels::kMaxDims];
  int nd = 0;
  for (int i = 0; i < d.ndim; ++i) {
    if (d.shape[i] == 1) continue;
    if (nd > 0 && stride[nd - 1] == d.stride[1][i] * d.shape[i]) {
      shape[nd - 1] *= d.shape[i];
      stride[nd - 1] = d.stride[1][i];
      continue;
    }
    shape[nd] = d.shape[i];
    stride[nd] = d.stride[1][i];
    ++nd;
  }
  if (nd == 0 || nd > 3 || stride[nd - 1] == 1) return false;
  TransposeLayout l;
  int64_t* sizes[3] = {&l.batch, &l.rows, &l.cols};
  int64_t* strides[3] = {&l.stride_b, &l.stride_r, &l.stride_c};
  for (int k = 0; k < nd; ++k) {
    *sizes[3 - nd + k] = shape[k];
    *strides[3 - nd + k] = stride[k];
  }
  *out = l;
  return true;
}

template <class T>
void copy_tiled_v3(const TransposeLayout& l, const T* a, T* out, int threads) {
  constexpr int64_t kTile = 16;
  const int64_t tiles_r = (l.rows + kTile - 1) / kTile, total = l.batch * tiles_r;
  auto range = [&](int, int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const int64_t b = t / tiles_r, r0 = (t % tiles_r) * kTile;
      const int64_t r1 = std::min(r0 + kTile, l.rows);
      const T* src = a + b * l.stride_b;
      T* dst = out + b * l.rows * l.cols;
      for (int64_t c0 = 0; c0 < l.cols; c0 += kTile) {
        const int64_t c1 = std::min(c0 + kTile, l.cols);
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t c = c0; c < c1; ++c)
            dst[r * l.cols + c] = src[r * l.stride_r + c * l.stride_c];
      }
    }
  };
  if (l.batch * l.rows * l.cols < kElementwiseParallelMin || threads <= 1)
    return range(0, 0, total);
  parallel_ranges(total, threads, range);
}

template <class T>
void fill_v2(int64_t n, T value, T* out, int threads) {
  if (n < kElementwiseParallelMin || threads <= 1) return std::fill(out, out + n, value);
  parallel_ranges(n, threads,
                  [&](int, int64_t lo, int64_t hi) { std::fill(out + lo, out + hi, value); });
}

#define SIGNET_EW_FLOAT(T)                                                                       \
  template void unary_v2<T>(UnaryOp, ElementwiseParams, const FlatLayout&, const T*, T*, int,    \
                            SimdPath);                                                           \
  template void binary_v2<T>(BinaryOp, ElementwiseParams, const FlatLayout&, const T*, const T*, \
                             T*, int, SimdPath);
SIGNET_EW_FLOAT(float)
SIGNET_EW_FLOAT(double)
#undef SIGNET_EW_FLOAT

#define SIGNET_EW_ANY(T)                                                     \
  template void copy_v2<T>(const FlatLayout&, const T*, T*, int);            \
  template void copy_tiled_v3<T>(const TransposeLayout&, const T*, T*, int); \
  template void fill_v2<T>(int64_t, T, T*, int);
SIGNET_EW_ANY(float)
SIGNET_EW_ANY(double)
SIGNET_EW_ANY(int64_t)
SIGNET_EW_ANY(uint8_t)
SIGNET_EW_ANY(kernels::bf16)
#undef SIGNET_EW_ANY

}  // namespace signet::cpu
