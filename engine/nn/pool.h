// Pooling modules and Flatten as torch.nn's (no parameters): MaxPool2d/3d, AvgPool2d/3d,
// AdaptiveAvgPool2d/3d (output 1 is global average pooling). An empty stride means the kernel.
#pragma once
#include <utility>

#include "engine/nn/module.h"

namespace signet::nn {

// Max pooling over (N, C, H, W) (dims 2) or (N, C, D, H, W) (dims 3).
class MaxPoolNd : public Module {
 public:
  // Keeps the arguments of max_pool2d / max_pool3d.
  MaxPoolNd(int dims, Shape kernel_size, Shape stride, Shape padding, Shape dilation,
            bool ceil_mode)
      : dims_(dims),
        kernel_(std::move(kernel_size)),
        stride_(std::move(stride)),
        padding_(std::move(padding)),
        dilation_(std::move(dilation)),
        ceil_mode_(ceil_mode) {}
  // The window maxima of x.
  Tensor forward(const Tensor& x) const;

 private:
  int dims_;
  Shape kernel_, stride_, padding_, dilation_;
  bool ceil_mode_;
};

// torch.nn.MaxPool2d.
class MaxPool2d : public MaxPoolNd {
 public:
  explicit MaxPool2d(Shape kernel_size, Shape stride = {}, Shape padding = {0},
                     Shape dilation = {1}, bool ceil_mode = false)
      : MaxPoolNd(2, std::move(kernel_size), std::move(stride), std::move(padding),
                  std::move(dilation), ceil_mode) {}
};

// torch.nn.MaxPool3d.
class MaxPool3d : public MaxPoolNd {
 public:
  explicit MaxPool3d(Shape kernel_size, Shape stride = {}, Shape padding = {0},
                     Shape dilation = {1}, bool ceil_mode = false)
      : MaxPoolNd(3, std::move(kernel_size), std::move(stride), std::move(padding),
                  std::move(dilation), ceil_mode) {}
};

// Average pooling over (N, C, H, W) (dims 2) or (N, C, D, H, W) (dims 3).
class AvgPoolNd : public Module {
 public:
  // Keeps the arguments of avg_pool2d / avg_pool3d.
  AvgPoolNd(int dims, Shape kernel_size, Shape stride, Shape padding, bool ceil_mode,
            bool count_include_pad)
      : dims_(dims),
        kernel_(std::move(kernel_size)),
        stride_(std::move(stride)),
        padding_(std::move(padding)),
        ceil_mode_(ceil_mode),
        count_include_pad_(count_include_pad) {}
  // The window means of x.
  Tensor forward(const Tensor& x) const;

 private:
  int dims_;
  Shape kernel_, stride_, padding_;
  bool ceil_mode_, count_include_pad_;
};

// torch.nn.AvgPool2d.
class AvgPool2d : public AvgPoolNd {
 public:
  explicit AvgPool2d(Shape kernel_size, Shape stride = {}, Shape padding = {0},
                     bool ceil_mode = false, bool count_include_pad = true)
      : AvgPoolNd(2, std::move(kernel_size), std::move(stride), std::move(padding), ceil_mode,
                  count_include_pad) {}
};

// torch.nn.AvgPool3d.
class AvgPool3d : public AvgPoolNd {
 public:
  explicit AvgPool3d(Shape kernel_size, Shape stride = {}, Shape padding = {0},
                     bool ceil_mode = false, bool count_include_pad = true)
      : AvgPoolNd(3, std::move(kernel_size), std::move(stride), std::move(padding), ceil_mode,
                  count_include_pad) {}
};

// Adaptive average pooling to a fixed output size (one value or one per dim).
class AdaptiveAvgPoolNd : public Module {
 public:
  // Keeps the output size of adaptive_avg_pool2d / adaptive_avg_pool3d.
  AdaptiveAvgPoolNd(int dims, Shape output_size) : dims_(dims), out_(std::move(output_size)) {}
  // The adaptive window means of x.
  Tensor forward(const Tensor& x) const;

 private:
  int dims_;
  Shape out_;
};

// torch.nn.AdaptiveAvgPool2d (output 1: global average pooling).
class AdaptiveAvgPool2d : public AdaptiveAvgPoolNd {
 public:
  explicit AdaptiveAvgPool2d(Shape output_size) : AdaptiveAvgPoolNd(2, std::move(output_size)) {}
};

// torch.nn.AdaptiveAvgPool3d (output 1: global average pooling).
class AdaptiveAvgPool3d : public AdaptiveAvgPoolNd {
 public:
  explicit AdaptiveAvgPool3d(Shape output_size) : AdaptiveAvgPoolNd(3, std::move(output_size)) {}
};

// Flattens dims start_dim..end_dim into one (by default everything but the batch dim).
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : start_(start_dim), end_(end_dim) {}
  // x with dims start..end merged.
  Tensor forward(const Tensor& x) const { return x.flatten(start_, end_); }

 private:
  int64_t start_, end_;
};

}  // namespace signet::nn
