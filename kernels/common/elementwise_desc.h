// Operation codes and scalar parameters of the elementwise kernels.
#pragma once
#include <cstdint>

namespace signet::kernels {

// y = f(x). Parameters: pow_scalar y = x^a; clamp y = min(max(x, a), b); leaky_relu slope a.
enum class UnaryOp : uint8_t {
  copy,
  neg,
  exp,
  log,
  sqrt,
  abs,
  relu,
  sigmoid,
  tanh,
  gelu,  // exact: x * Phi(x) with the error function, as torch.nn.GELU()
  pow_scalar,
  clamp,
  leaky_relu,
};

// y = f(a, b). The *_backward codes take a = upstream gradient, b = the forward input x
// (relu, leaky_relu with slope p.a, gelu, clamp with bounds p.a..p.b inclusive, abs) or the
// forward output y (sigmoid: a*y*(1-y), tanh: a*(1-y*y)).
enum class BinaryOp : uint8_t {
  add,
  sub,
  mul,
  div,
  relu_backward,
  leaky_relu_backward,
  gelu_backward,
  clamp_backward,
  abs_backward,
  sigmoid_backward,
  tanh_backward,
};

// Scalar parameters of an elementwise op (meaning per op above).
struct ElementwiseParams {
  double a = 0;
  double b = 0;
};

}  // namespace signet::kernels
