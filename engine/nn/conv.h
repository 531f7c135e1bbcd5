// nn::Conv2d and nn::Conv3d as torch.nn's: parameters `weight` (K, C/groups, k...) and `bias`
// (K), initialised as PyTorch does (kaiming_uniform_ with a = sqrt(5) reduces to
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = C/groups * prod(k), the same bound for the
// bias). kernel_size, stride, padding and dilation take one value for every dim or one per dim.
#pragma once
#include "engine/nn/module.h"

namespace signet::nn {

// The shared body of Conv2d and Conv3d: parameters, arguments and the forward call.
class ConvNd : public Module {
 public:
  // Applies the convolution to x (N, C, spatial...).
  Tensor forward(const Tensor& x) const;
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }

 protected:
  // Checks the sizes and initialises the parameters of a dims-D convolution.
  ConvNd(int dims, int64_t in_channels, int64_t out_channels, const Shape& kernel_size,
         const Shape& stride, const Shape& padding, const Shape& dilation, int64_t groups,
         bool bias, DType dtype);

 private:
  int dims_;
  Shape stride_, padding_, dilation_;
  int64_t groups_;
  Tensor weight_, bias_;
};

// torch.nn.Conv2d: 2-D convolution over (N, C, H, W).
class Conv2d : public ConvNd {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, const Shape& kernel_size,
         const Shape& stride = {1}, const Shape& padding = {0}, const Shape& dilation = {1},
         int64_t groups = 1, bool bias = true, DType dtype = DType::f32)
      : ConvNd(2, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
               dtype) {}
};

// torch.nn.Conv3d: 3-D convolution over (N, C, D, H, W).
class Conv3d : public ConvNd {
 public:
  Conv3d(int64_t in_channels, int64_t out_channels, const Shape& kernel_size,
         const Shape& stride = {1}, const Shape& padding = {0}, const Shape& dilation = {1},
         int64_t groups = 1, bool bias = true, DType dtype = DType::f32)
      : ConvNd(3, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
               dtype) {}
};

}  // namespace signet::nn
