// Reference pooling: one loop over planes and output positions; every window is described by its
// clipped [begin, end) range per dim, as PyTorch's CPU kernels compute it.
#include "kernels/reference/pool.h"

#include <algorithm>
#include <cmath>

namespace signet::ref {
namespace {

using kernels::PoolDesc;

// The [begin, end) of one pooling window per dim, and its divisor for averaging.
struct Window {
  int64_t begin[3], end[3];
  int64_t divisor;
};

// Calls fn(plane, o, window) for every plane and output position o of a strided window.
template <class Fn>
void for_each_window(const PoolDesc& d, Fn fn) {
  const int64_t out_vol = d.out[0] * d.out[1] * d.out[2];
  for (int64_t p = 0; p < d.planes; ++p)
    for (int64_t o = 0; o < out_vol; ++o) {
      const int64_t pos[3] = {o / (d.out[1] * d.out[2]), o / d.out[2] % d.out[1], o % d.out[2]};
      Window win;
      int64_t padded = 1, inside = 1;
      for (int i = 0; i < 3; ++i) {
        const int64_t b = pos[i] * d.stride[i] - d.pad[i];
        const int64_t e = std::min(b + (d.kernel[i] - 1) * d.dilation[i] + 1, d.in[i] + d.pad[i]);
        padded *= e - b;
        win.begin[i] = std::max<int64_t>(b, 0);
        win.end[i] = std::min(e, d.in[i]);
        inside *= std::max<int64_t>(win.end[i] - win.begin[i], 0);
      }
      win.divisor = d.count_include_pad ? padded : inside;
      fn(p, o, win);
    }
}

// Calls fn(plane, o, window) for every plane and output position o of an adaptive window.
template <class Fn>
void for_each_adaptive_window(const PoolDesc& d, Fn fn) {
  const int64_t out_vol = d.out[0] * d.out[1] * d.out[2];
  for (int64_t p = 0; p < d.planes; ++p)
    for (int64_t o = 0; o < out_vol; ++o) {
      const int64_t pos[3] = {o / (d.out[1] * d.out[2]), o / d.out[2] % d.out[1], o % d.out[2]};
      Window win;
      win.divisor = 1;
      for (int i = 0; i < 3; ++i) {
        win.begin[i] = pos[i] * d.in[i] / d.out[i];
        win.end[i] = ((pos[i] + 1) * d.in[i] + d.out[i] - 1) / d.out[i];
        win.divisor *= win.end[i] - win.begin[i];
      }
      fn(p, o, win);
    }
}

// Calls fn(flat offset in plane) for every element of a window, stepping by step per dim.
template <class Fn>
void for_each_in(const PoolDesc& d, const Window& w, const int64_t* step, Fn fn) {
  for (int64_t id = w.begin[0]; id < w.end[0]; id += step[0])
    for (int64_t ih = w.begin[1]; ih < w.end[1]; ih += step[1])
      for (int64_t iw = w.begin[2]; iw < w.end[2]; iw += step[2])
        fn((id * d.in[1] + ih) * d.in[2] + iw);
}

// The window with its begin moved up to the first tap inside the input (dilated max windows).
Window first_taps(const PoolDesc& d, Window w, int64_t o) {
  const int64_t pos[3] = {o / (d.out[1] * d.out[2]), o / d.out[2] % d.out[1], o % d.out[2]};
  for (int i = 0; i < 3; ++i) {
    int64_t b = pos[i] * d.stride[i] - d.pad[i];
    while (b < 0) b += d.dilation[i];
    w.begin[i] = b;
  }
  return w;
}

constexpr int64_t kUnitStep[3] = {1, 1, 1};

}  // namespace

// Scans the dilated window's in-bounds taps in order; a NaN wins (the last one, as PyTorch).
template <class T>
void max_pool_forward(const PoolDesc& d, const T* x, T* y, int64_t* idx) {
  const int64_t in_vol = d.in[0] * d.in[1] * d.in[2], out_vol = d.out[0] * d.out[1] * d.out[2];
  for_each_window(d, [&](int64_t p, int64_t o, const Window& win) {
    const T* xp = x + p * in_vol;
    T best = -INFINITY;
    int64_t at = -1;
    for_each_in(d, first_taps(d, win, o), d.dilation, [&](int64_t i) {
      if (at < 0 || xp[i] > best || std::isnan(xp[i])) {
        best = xp[i];
        at = i;
      }
    });
    y[p * out_vol + o] = best;
    idx[p * out_vol + o] = at;
  });
}

// Adds each dy to its recorded input element, plane by plane.
template <class T>
void max_pool_backward(const PoolDesc& d, const T* dy, const int64_t* idx, T* dx) {
  const int64_t in_vol = d.in[0] * d.in[1] * d.in[2], out_vol = d.out[0] * d.out[1] * d.out[2];
  std::fill(dx, dx + d.planes * in_vol, T(0));
  for (int64_t p = 0; p < d.planes; ++p)
    for (int64_t o = 0; o < out_vol; ++o)
      if (idx[p * out_vol + o] >= 0) dx[p * in_vol + idx[p * out_vol + o]] += dy[p * out_vol + o];
}

// Sums the in-bounds window in double and divides by the window's divisor.
template <class T>
void avg_pool_forward(const PoolDesc& d, const T* x, T* y) {
  const int64_t in_vol = d.in[0] * d.in[1] * d.in[2], out_vol = d.out[0] * d.out[1] * d.out[2];
  for_each_window(d, [&](int64_t p, int64_t o, const Window& win) {
    double s = 0;
    for_each_in(d, win, kUnitStep, [&](int64_t i) { s += static_cast<double>(x[p * in_vol + i]); });
    y[p * out_vol + o] = static_cast<T>(s / static_cast<double>(win.divisor));
  });
}

// Adds dy / divisor to every in-bounds element of the window.
template <class T>
void avg_pool_backward(const PoolDesc& d, const T* dy, T* dx) {
  const int64_t in_vol = d.in[0] * d.in[1] * d.in[2], out_vol = d.out[0] * d.out[1] * d.out[2];
  std::fill(dx, dx + d.planes * in_vol, T(0));
  for_each_window(d, [&](int64_t p, int64_t o, const Window& win) {
    const T g = static_cast<T>(dy[p * out_vol + o] / static_cast<T>(win.divisor));
    for_each_in(d, win, kUnitStep, [&](int64_t i) { dx[p * in_vol + i] += g; });
  });
}

// Sums each adaptive window in double and divides by its size.
template <class T>
void adaptive_avg_pool_forward(const PoolDesc& d, const T* x, T* y) {
  const int64_t in_vol = d.in[0] * d.in[1] * d.in[2], out_vol = d.out[0] * d.out[1] * d.out[2];
  for_each_adaptive_window(d, [&](int64_t p, int64_t o, const Window& win) {
    double s = 0;
    for_each_in(d, win, kUnitStep, [&](int64_t i) { s += static_cast<double>(x[p * in_vol + i]); });
    y[p * out_vol + o] = static_cast<T>(s / static_cast<double>(win.divisor));
  });
}

// Adds dy / window size to every element of each adaptive window.
template <class T>
void adaptive_avg_pool_backward(const PoolDesc& d, const T* dy, T* dx) {
  const int64_t in_vol = d.in[0] * d.in[1] * d.in[2], out_vol = d.out[0] * d.out[1] * d.out[2];
  std::fill(dx, dx + d.planes * in_vol, T(0));
  for_each_adaptive_window(d, [&](int64_t p, int64_t o, const Window& win) {
    const T g = static_cast<T>(dy[p * out_vol + o] / static_cast<T>(win.divisor));
    for_each_in(d, win, kUnitStep, [&](int64_t i) { dx[p * in_vol + i] += g; });
  });
}

#define SIGNET_POOL_INSTANTIATE(T)                                                   \
  template void max_pool_forward<T>(const PoolDesc&, const T*, T*, int64_t*);        \
  template void max_pool_backward<T>(const PoolDesc&, const T*, const int64_t*, T*); \
  template void avg_pool_forward<T>(const PoolDesc&, const T*, T*);                  \
  template void avg_pool_backward<T>(const PoolDesc&, const T*, T*);                 \
  template void adaptive_avg_pool_forward<T>(const PoolDesc&, const T*, T*);         \
  template void adaptive_avg_pool_backward<T>(const PoolDesc&, const T*, T*);
SIGNET_POOL_INSTANTIATE(float)
SIGNET_POOL_INSTANTIATE(double)
#undef SIGNET_POOL_INSTANTIATE

}  // namespace signet::ref
