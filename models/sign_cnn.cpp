#include "models/sign_cnn.h"

#include "engine/ops/elementwise.h"

namespace signet::models {

SignCnn::SignCnn(const ModelConfig& c) : dropout_(c.dropout) {
  int64_t h = ((c.height - 2) / 2 - 2) / 2, w = ((c.width - 2) / 2 - 2) / 2;
  SIGNET_CHECK(h > 0 && w > 0, "sign_cnn: images of ", c.height, "x", c.width,
               " are too small (at least 10x10)");
  conv1_ =
      register_module("conv1", std::make_shared<nn::Conv2d>(c.channels, 32, Shape{3}, Shape{1},
                                                            Shape{0}, Shape{1}, 1, true, c.dtype));
  conv2_ =
      register_module("conv2", std::make_shared<nn::Conv2d>(32, 64, Shape{3}, Shape{1}, Shape{0},
                                                            Shape{1}, 1, true, c.dtype));
  if (c.batch_norm) {
    nn::BatchNormOptions bo;
    bo.dtype = c.dtype;
    bn1_ = register_module("bn1", std::make_shared<nn::BatchNorm2d>(32, bo));
    bn2_ = register_module("bn2", std::make_shared<nn::BatchNorm2d>(64, bo));
  }
  pool1_ = register_module("pool1", std::make_shared<nn::MaxPool2d>(Shape{2}));
  pool2_ = register_module("pool2", std::make_shared<nn::MaxPool2d>(Shape{2}));
  fc1_ = register_module("fc1", std::make_shared<nn::Linear>(64 * h * w, 128, true, c.dtype));
  fc2_ = register_module("fc2", std::make_shared<nn::Linear>(128, c.classes, true, c.dtype));
}

Tensor SignCnn::forward(const Tensor& x, RngStream& rng) {
  SIGNET_CHECK(x.dim() == 4, "sign_cnn: expects images (N, C, H, W), got ", shape_str(x.shape()));
  // ReLU after the max-pool: max and ReLU commute (values and gradients alike), and the pooled
  // tensor is a quarter of the size.
  Tensor y = conv1_->forward(x);
  if (bn1_) y = bn1_->forward(y);
  y = relu(pool1_->forward(y));
  y = conv2_->forward(y);
  if (bn2_) y = bn2_->forward(y);
  y = relu(pool2_->forward(y));
  y = relu(fc1_->forward(y.flatten(1)));
  if (training()) y = dropout_.forward(y, rng);
  return fc2_->forward(y);
}

}  // namespace signet::models
