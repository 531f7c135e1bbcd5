#include "models/c3d_small.h"

#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"

namespace signet::models {

C3dSmall::C3dSmall(const ModelConfig& c) {
  conv1_ =
      register_module("conv1", std::make_shared<nn::Conv3d>(c.channels, 16, Shape{3}, Shape{1},
                                                            Shape{1}, Shape{1}, 1, true, c.dtype));
  conv2_ =
      register_module("conv2", std::make_shared<nn::Conv3d>(16, 32, Shape{3}, Shape{1}, Shape{1},
                                                            Shape{1}, 1, true, c.dtype));
  pool1_ = register_module("pool1", std::make_shared<nn::MaxPool3d>(Shape{1, 2, 2}));
  pool2_ = register_module("pool2", std::make_shared<nn::MaxPool3d>(Shape{2}));
  fc_ = register_module("fc", std::make_shared<nn::Linear>(32, c.classes, true, c.dtype));
}

Tensor C3dSmall::forward(const Tensor& x, RngStream&) {
  SIGNET_CHECK(x.dim() == 5, "c3d_small: expects clips (N, T, C, H, W), got ",
               shape_str(x.shape()));
  SIGNET_CHECK(x.size(1) >= 2 && x.size(3) >= 4 && x.size(4) >= 4, "c3d_small: clips ",
               shape_str(x.shape()), " are too small (at least 2 frames of 4x4)");
  Tensor y = x.permute({0, 2, 1, 3, 4});
  y = pool1_->forward(relu(conv1_->forward(y)));
  y = pool2_->forward(relu(conv2_->forward(y)));
  return fc_->forward(mean(y, {2, 3, 4}));
}

}  // namespace signet::models
