// Scalar activation functions and derivatives shared by the reference, CPU and CUDA kernels.
#pragma once
#include <cmath>

#include "kernels/common/hostdev.h"

namespace signet::kernels {

// Logistic function; exponentiates only non-positive arguments, so it never overflows.
template <class T>
SIGNET_HD T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

// Exact GELU, x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))), as torch.nn.GELU().
template <class T>
SIGNET_HD T gelu(T x) {
  return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
}

// d gelu / dx = Phi(x) + x * phi(x).
template <class T>
SIGNET_HD T gelu_grad(T x) {
  const T cdf = T(0.5) * (T(1) + std::erf(x * T(0.70710678118654752440)));
  const T pdf = T(0.39894228040143267794) * std::exp(T(-0.5) * x * x);
  return cdf + x * pdf;
}

// max(x, 0); NaN passes through.
template <class T>
SIGNET_HD T relu(T x) {
  return x < T(0) ? T(0) : x;
}

// x for x >= 0, slope * x below; NaN passes through.
template <class T>
SIGNET_HD T leaky_relu(T x, T slope) {
  return x < T(0) ? slope * x : x;
}

}  // namespace signet::kernels
