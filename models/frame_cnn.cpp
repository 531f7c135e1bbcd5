#include "models/frame_cnn.h"

#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"

namespace signet::models {

FrameCnn::FrameCnn(const ModelConfig& c) {
  conv1_ =
      register_module("conv1", std::make_shared<nn::Conv2d>(c.channels, 16, Shape{3}, Shape{1},
                                                            Shape{1}, Shape{1}, 1, true, c.dtype));
  conv2_ =
      register_module("conv2", std::make_shared<nn::Conv2d>(16, 32, Shape{3}, Shape{1}, Shape{1},
                                                            Shape{1}, 1, true, c.dtype));
  pool1_ = register_module("pool1", std::make_shared<nn::MaxPool2d>(Shape{2}));
  fc_ = register_module("fc", std::make_shared<nn::Linear>(32, c.classes, true, c.dtype));
}

Tensor FrameCnn::forward(const Tensor& x, RngStream&) {
  SIGNET_CHECK(x.dim() == 5, "frame_cnn: expects clips (N, T, C, H, W), got ",
               shape_str(x.shape()));
  int64_t N = x.size(0), T = x.size(1);
  Tensor frames = x.reshape({N * T, x.size(2), x.size(3), x.size(4)});
  Tensor y = pool1_->forward(relu(conv1_->forward(frames)));
  y = relu(conv2_->forward(y));
  Tensor logits = fc_->forward(mean(y, {2, 3}));
  return mean(logits.reshape({N, T, -1}), {1});
}

}  // namespace signet::models
