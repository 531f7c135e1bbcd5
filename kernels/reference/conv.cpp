// Reference convolution: each pass is the same loop nest over (n, k, output position, c, tap),
// walking the input position each tap reads; positions in the padding read zero.
#include "kernels/reference/conv.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace signet::ref {
namespace {

using kernels::ConvDesc;

// Calls fn(x_offset_in_plane, tap, out_offset_in_plane) for every (output, tap) pair that reads
// an input element inside the plane.
template <class Fn>
void for_each_tap(const ConvDesc& d, Fn fn) {
  int64_t o = 0;
  for (int64_t od = 0; od < d.out[0]; ++od)
    for (int64_t oh = 0; oh < d.out[1]; ++oh)
      for (int64_t ow = 0; ow < d.out[2]; ++ow, ++o) {
        int64_t t = 0;
        for (int64_t kd = 0; kd < d.kernel[0]; ++kd) {
          const int64_t id = od * d.stride[0] - d.pad[0] + kd * d.dilation[0];
          for (int64_t kh = 0; kh < d.kernel[1]; ++kh) {
            const int64_t ih = oh * d.stride[1] - d.pad[1] + kh * d.dilation[1];
            for (int64_t kw = 0; kw < d.kernel[2]; ++kw, ++t) {
              const int64_t iw = ow * d.stride[2] - d.pad[2] + kw * d.dilation[2];
              if (id < 0 || id >= d.in[0] || ih < 0 || ih >= d.in[1] || iw < 0 || iw >= d.in[2])
                continue;
              fn((id * d.in[1] + ih) * d.in[2] + iw, t, o);
            }
          }
        }
      }
}

}  // namespace

// Accumulates each output element over its group's channels and taps in double.
template <class T>
void conv_forward(const ConvDesc& d, const T* x, const T* w, const T* bias, T* y) {
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
  const int64_t in_vol = conv_in_volume(d), out_vol = conv_out_volume(d);
  const int64_t taps = conv_kernel_volume(d);
  std::vector<double> acc(static_cast<size_t>(out_vol));
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t k = 0; k < d.k; ++k) {
      const int64_t g = k / kg;
      acc.assign(acc.size(), bias ? static_cast<double>(bias[k]) : 0.0);
      for (int64_t c = 0; c < cg; ++c) {
        const T* xp = x + (n * d.c + g * cg + c) * in_vol;
        const T* wp = w + (k * cg + c) * taps;
        for_each_tap(d, [&](int64_t i, int64_t t, int64_t o) {
          acc[o] += static_cast<double>(xp[i]) * static_cast<double>(wp[t]);
        });
      }
      T* yp = y + (n * d.k + k) * out_vol;
      for (int64_t o = 0; o < out_vol; ++o) yp[o] = static_cast<T>(acc[o]);
    }
}

// Scatters dy through the same taps into a double copy of each input plane.
template <class T>
void conv_backward_data(const ConvDesc& d, const T* dy, const T* w, T* dx) {
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
  const int64_t in_vol = conv_in_volume(d), out_vol = conv_out_volume(d);
  const int64_t taps = conv_kernel_volume(d);
  std::vector<double> acc(static_cast<size_t>(in_vol));
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t ci = 0; ci < d.c; ++ci) {
      const int64_t g = ci / cg, c = ci % cg;
      acc.assign(acc.size(), 0.0);
      for (int64_t k = g * kg; k < (g + 1) * kg; ++k) {
        const T* gp = dy + (n * d.k + k) * out_vol;
        const T* wp = w + (k * cg + c) * taps;
        for_each_tap(d, [&](int64_t i, int64_t t, int64_t o) {
          acc[i] += static_cast<double>(gp[o]) * static_cast<double>(wp[t]);
        });
      }
      T* xp = dx + (n * d.c + ci) * in_vol;
      for (int64_t i = 0; i < in_vol; ++i) xp[i] = static_cast<T>(acc[i]);
    }
}

// Sums x * dy over the batch and output positions for each weight tap; dbias sums dy.
template <class T>
void conv_backward_weights(const ConvDesc& d, const T* x, const T* dy, T* dw, T* dbias) {
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
  const int64_t in_vol = conv_in_volume(d), out_vol = conv_out_volume(d);
  const int64_t taps = conv_kernel_volume(d);
  std::vector<double> acc(static_cast<size_t>(taps));
  for (int64_t k = 0; k < d.k; ++k) {
    const int64_t g = k / kg;
    for (int64_t c = 0; c < cg; ++c) {
      acc.assign(acc.size(), 0.0);
      for (int64_t n = 0; n < d.n; ++n) {
        const T* xp = x + (n * d.c + g * cg + c) * in_vol;
        const T* gp = dy + (n * d.k + k) * out_vol;
        for_each_tap(d, [&](int64_t i, int64_t t, int64_t o) {
          acc[t] += static_cast<double>(xp[i]) * static_cast<double>(gp[o]);
        });
      }
      for (int64_t t = 0; t < taps; ++t) dw[(k * cg + c) * taps + t] = static_cast<T>(acc[t]);
    }
    if (!dbias) continue;
    double s = 0;
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t o = 0; o < out_vol; ++o)
        s += static_cast<double>(dy[(n * d.k + k) * out_vol + o]);
    dbias[k] = static_cast<T>(s);
  }
}

template void conv_forward<float>(const ConvDesc&, const float*, const float*, const float*,
                                  float*);
template void conv_forward<double>(const ConvDesc&, const double*, const double*, const double*,
                                   double*);
template void conv_backward_data<float>(const ConvDesc&, const float*, const float*, float*);
template void conv_backward_data<double>(const ConvDesc&, const double*, const double*, double*);
template void conv_backward_weights<float>(const ConvDesc&, const float*, const float*, float*,
                                           float*);
template void conv_backward_weights<double>(const ConvDesc&, const double*, const double*, double*,
                                            double*);

}  // namespace signet::ref
