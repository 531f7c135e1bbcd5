// Fast CPU layer norm: per-row passes of 16-lane float loops, block sums in double.
#include "kernels/cpu/layer_norm.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/threads.h"

namespace signet::cpu {
namespace {

constexpr int kLanes = 16;         // float lanes of the row loops (two V8 vectors)
constexpr int64_t kBlock = 2048;   // elements per float partial sum
constexpr int64_t kColTile = 256;  // columns per dweight/dbias tile
constexpr int64_t kRowBlock = 64;  // rows per float partial sum of dweight/dbias

// 8 floats as one GCC/Clang vector (an AVX2 register on the x86-64-v3 build).
typedef float V8 __attribute__((vector_size(32)));

// The 8 floats at p (any alignment).
inline V8 load8(const float* p) {
  V8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Stores v to the 8 floats at p (any alignment).
inline void store8(float* p, V8 v) {
  std::memcpy(p, &v, sizeof v);
}

// The sum of the 16 lanes of (a, b) in double, in a fixed order.
double lanes_sum(V8 a, V8 b) {
  double s[8];
  for (int l = 0; l < 8; ++l) s[l] = static_cast<double>(a[l]) + static_cast<double>(b[l]);
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

// sum(x[j] - k) and sum((x[j] - k)^2) over j in [0, n).
void shifted_sums(const float* x, int64_t n, float k, double& s, double& ss) {
  s = 0;
  ss = 0;
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t b1 = std::min(n, b0 + kBlock);
    V8 a0 = {}, a1 = {}, q0 = {}, q1 = {};
    int64_t i = b0;
    for (; i + kLanes <= b1; i += kLanes) {
      const V8 v0 = load8(x + i) - k, v1 = load8(x + i + 8) - k;
      a0 += v0;
      a1 += v1;
      q0 += v0 * v0;
      q1 += v1 * v1;
    }
    for (int l = 0; i < b1; ++i, ++l) {
      const float v = x[i] - k;
      a0[l % 8] += v;
      q0[l % 8] += v * v;
    }
    s += lanes_sum(a0, a1);
    ss += lanes_sum(q0, q1);
  }
}

// sum(g) and sum(g (x - m)) over j in [0, n), g = dy[j] w[j] (w null: 1).
void grad_sums(const float* x, const float* dy, const float* w, int64_t n, float m, double& sg,
               double& sgx) {
  sg = 0;
  sgx = 0;
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t b1 = std::min(n, b0 + kBlock);
    V8 a0 = {}, a1 = {}, q0 = {}, q1 = {};
    int64_t i = b0;
    for (; i + kLanes <= b1; i += kLanes) {
      V8 g0 = load8(dy + i), g1 = load8(dy + i + 8);
      if (w) {
        g0 *= load8(w + i);
        g1 *= load8(w + i + 8);
      }
      a0 += g0;
      a1 += g1;
      q0 += g0 * (load8(x + i) - m);
      q1 += g1 * (load8(x + i + 8) - m);
    }
    for (int l = 0; i < b1; ++i, ++l) {
      const float g = w ? dy[i] * w[i] : dy[i];
      a0[l % 8] += g;
      q0[l % 8] += g * (x[i] - m);
    }
    sg += lanes_sum(a0, a1);
    sgx += lanes_sum(q0, q1);
  }
}

// Forward of rows [r0, r1).
void forward_rows(const kernels::LayerNormDesc& d, const float* x, const float* weight,
                  const float* bias, float* y, float* mean, float* rstd, int64_t r0, int64_t r1) {
  const int64_t n = d.cols;
  const double count = static_cast<double>(n);
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    double s, ss;
    shifted_sums(xr, n, 0.0f, s, ss);
    const double m = s / count;
    const float mf = static_cast<float>(m);
    shifted_sums(xr, n, mf, s, ss);
    // Deviations from mf: var = mean((x - mf)^2) - (mean(x - mf))^2.
    const double dm = s / count;
    const double rs = 1.0 / std::sqrt(std::max(ss / count - dm * dm, 0.0) + d.eps);
    const float rsf = static_cast<float>(rs);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
      V8 v = (load8(xr + j) - mf) * rsf;
      if (weight) v *= load8(weight + j);
      if (bias) v += load8(bias + j);
      store8(yr + j, v);
    }
    for (; j < n; ++j) {
      float v = (xr[j] - mf) * rsf;
      if (weight) v *= weight[j];
      if (bias) v += bias[j];
      yr[j] = v;
    }
    mean[r] = mf;
    rstd[r] = rsf;
  }
}

// dx of rows [r0, r1): rs (g - sum(g) / n - xhat sum(g xhat) / n).
void dx_rows(const kernels::LayerNormDesc& d, const float* x, const float* dy, const float* mean,
             const float* rstd, const float* w, float* dx, int64_t r0, int64_t r1) {
  const int64_t n = d.cols;
  const double count = static_cast<double>(n);
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * n;
    const float* gr = dy + r * n;
    float* dr = dx + r * n;
    const float m = mean[r], rs = rstd[r];
    double sg, sgx;
    grad_sums(xr, gr, w, n, m, sg, sgx);
    const float c1 = static_cast<float>(sg / count);
    const float c2 = static_cast<float>(sgx * static_cast<double>(rs) / count);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
      V8 g = load8(gr + j);
      if (w) g *= load8(w + j);
      store8(dr + j, rs * (g - c1 - (load8(xr + j) - m) * rs * c2));
    }
    for (; j < n; ++j) {
      const float g = w ? gr[j] * w[j] : gr[j];
      dr[j] = rs * (g - c1 - (xr[j] - m) * rs * c2);
    }
  }
}

// dweight and dbias of columns [c0, c1): sums over all rows, kRowBlock rows in float, then double.
void param_grads(const kernels::LayerNormDesc& d, const float* x, const float* dy,
                 const float* mean, const float* rstd, float* dweight, float* dbias, int64_t c0,
                 int64_t c1) {
  for (int64_t t0 = c0; t0 < c1; t0 += kColTile) {
    const int64_t cols = std::min(c1 - t0, kColTile);
    double tw[kColTile] = {}, tb[kColTile] = {};
    for (int64_t rb = 0; rb < d.rows; rb += kRowBlock) {
      float pw[kColTile] = {}, pb[kColTile] = {};
      for (int64_t r = rb; r < std::min(d.rows, rb + kRowBlock); ++r) {
        const float* xr = x + r * d.cols + t0;
        const float* gr = dy + r * d.cols + t0;
        const float m = mean[r], rs = rstd[r];
        for (int64_t j = 0; j < cols; ++j) {
          pw[j] += gr[j] * ((xr[j] - m) * rs);
          pb[j] += gr[j];
        }
      }
      for (int64_t j = 0; j < cols; ++j) {
        tw[j] += pw[j];
        tb[j] += pb[j];
      }
    }
    for (int64_t j = 0; j < cols; ++j) {
      if (dweight) dweight[t0 + j] = static_cast<float>(tw[j]);
      if (dbias) dbias[t0 + j] = static_cast<float>(tb[j]);
    }
  }
}

}  // namespace

void layer_norm_forward_v2(const kernels::LayerNormDesc& d, const float* x, const float* weight,
                           const float* bias, float* y, float* mean, float* rstd, int threads) {
  parallel_ranges(d.rows, threads, [&](int, int64_t r0, int64_t r1) {
    forward_rows(d, x, weight, bias, y, mean, rstd, r0, r1);
  });
}

void layer_norm_backward_v2(const kernels::LayerNormDesc& d, const float* x, const float* dy,
                            const float* mean, const float* rstd, const float* weight, float* dx,
                            float* dweight, float* dbias, int threads) {
  if (dx)
    parallel_ranges(d.rows, threads, [&](int, int64_t r0, int64_t r1) {
      dx_rows(d, x, dy, mean, rstd, weight, dx, r0, r1);
    });
  if (!dweight && !dbias) return;
  const int64_t tiles = (d.cols + kColTile - 1) / kColTile;
  parallel_ranges(tiles, threads, [&](int, int64_t a, int64_t b) {
    param_grads(d, x, dy, mean, rstd, dweight, dbias, a * kColTile, std::min(b * kColTile, d.cols));
  });
}

}  // namespace signet::cpu
