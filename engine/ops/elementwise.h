// Elementwise ops with NumPy broadcasting, forward and backward (f32 and f64).
#pragma once
#include "engine/tensor.h"

namespace signet {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
// x ** exponent for a scalar exponent.
Tensor pow(const Tensor& x, double exponent);
Tensor abs(const Tensor& x);
// min(max(x, lo), hi); the gradient passes where lo <= x <= hi.
Tensor clamp(const Tensor& x, double lo, double hi);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
// Exact GELU, x * Phi(x), as torch.nn.GELU().
Tensor gelu(const Tensor& x);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
// Scalar forms: the scalar becomes a 0-d tensor of the tensor's dtype.
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

// Copies src into dst's elements (dst may be a strided view; src broadcasts; dtypes convert).
void copy_into(const Tensor& dst, const Tensor& src);
// Sets every element of dst (a possibly strided view) to value.
void fill_into(const Tensor& dst, double value);

}  // namespace signet
