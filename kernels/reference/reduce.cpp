// Reference reductions: an odometer over the kept dims, and for each kept point an odometer
// over the reduced dims.
#include "kernels/reference/reduce.h"

#include <cmath>
#include <cstdint>

namespace signet::ref {
namespace {

using kernels::kMaxDims;
using kernels::ReduceDesc;
using kernels::ReduceOp;

// Calls f(off_a, off_b) at every point of an n-d shape, row-major; the two offsets follow the
// stride arrays sa and sb and are advanced incrementally.
template <class F>
void walk2(int nd, const int64_t* shape, const int64_t* sa, const int64_t* sb, F f) {
  for (int i = 0; i < nd; ++i)
    if (shape[i] == 0) return;
  int64_t idx[kMaxDims] = {};
  int64_t a = 0, b = 0;
  for (;;) {
    f(a, b);
    int dim = nd - 1;
    for (; dim >= 0; --dim) {
      a += sa[dim];
      b += sb[dim];
      if (++idx[dim] < shape[dim]) break;
      a -= sa[dim] * shape[dim];
      b -= sb[dim] * shape[dim];
      idx[dim] = 0;
    }
    if (dim < 0) return;
  }
}

// Row-major contiguous strides of the reduced sub-space; returns its element count.
int64_t flat_strides(const ReduceDesc& d, int64_t* strides) {
  int64_t n = 1;
  for (int i = d.nred - 1; i >= 0; --i) {
    strides[i] = n;
    n *= d.red_shape[i];
  }
  return n;
}

// The max (or min when !is_max) of one reduced sub-space with the flat index of its first
// occurrence; the first NaN wins over everything.
template <class T>
void extremum(const ReduceDesc& d, const int64_t* flat, const T* in, bool is_max, T* best,
              int64_t* best_at) {
  bool found_nan = false;
  *best = in[0];
  *best_at = 0;
  walk2(d.nred, d.red_shape, d.red_in_stride, flat, [&](int64_t off, int64_t r) {
    if (found_nan) return;
    const T v = in[off];
    if (std::isnan(v)) {
      found_nan = true;
      *best = v;
      *best_at = r;
    } else if (is_max ? v > *best : v < *best) {
      *best = v;
      *best_at = r;
    }
  });
}

}  // namespace

// Sums in double; max/min with NaN propagation and optional arg. Max/min of an empty reduced
// sub-space writes nothing (the caller rejects it).
template <class T>
void reduce(ReduceOp op, const ReduceDesc& d, const T* in, T* out, int64_t* arg) {
  int64_t flat[kMaxDims] = {};
  const int64_t count = flat_strides(d, flat);
  if (count == 0 && op != ReduceOp::sum) return;
  walk2(d.nkeep, d.keep_shape, d.keep_in_stride, d.keep_out_stride, [&](int64_t ki, int64_t ko) {
    const T* base = in + ki;
    if (op == ReduceOp::sum) {
      double acc = 0;
      walk2(d.nred, d.red_shape, d.red_in_stride, flat,
            [&](int64_t off, int64_t) { acc += static_cast<double>(base[off]); });
      out[ko] = static_cast<T>(acc);
      return;
    }
    T best{};
    int64_t best_at = 0;
    extremum(d, flat, base, op == ReduceOp::max, &best, &best_at);
    out[ko] = best;
    if (arg) arg[ko] = best_at;
  });
}

// Adds each grad_out element to the input position its arg names (unravelled over red_shape).
template <class T>
void scatter_to_arg(const ReduceDesc& d, const T* grad_out, const int64_t* arg, T* grad_in) {
  walk2(d.nkeep, d.keep_shape, d.keep_in_stride, d.keep_out_stride, [&](int64_t ki, int64_t ko) {
    int64_t r = arg[ko], off = ki;
    for (int i = d.nred - 1; i >= 0; --i) {
      off += (r % d.red_shape[i]) * d.red_in_stride[i];
      r /= d.red_shape[i];
    }
    grad_in[off] += grad_out[ko];
  });
}

template void reduce<float>(ReduceOp, const ReduceDesc&, const float*, float*, int64_t*);
template void reduce<double>(ReduceOp, const ReduceDesc&, const double*, double*, int64_t*);
template void scatter_to_arg<float>(const ReduceDesc&, const float*, const int64_t*, float*);
template void scatter_to_arg<double>(const ReduceDesc&, const double*, const int64_t*, double*);

}  // namespace signet::ref
