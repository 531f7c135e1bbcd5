// sign_cnn: the hand-shape CNN of the Sign-Language-MNIST seed on (N, channels, H, W) images.
// conv 3x3 32 + ReLU + max-pool 2, conv 3x3 64 + ReLU + max-pool 2, dense 128 + ReLU, dropout,
// dense classes. torch equivalent: Conv2d "conv1" (32, C, 3, 3), Conv2d "conv2" (64, 32, 3, 3),
// Linear "fc1" (128, 64 * (H/4 - ...)), Linear "fc2" (classes, 128); padding 0 as in Keras.
// With batch_norm: BatchNorm2d "bn1" (32) and "bn2" (64) between each conv and its ReLU.
// The ReLUs run after their max-pools (the same function and gradient, on a quarter the data).
#pragma once
#include <memory>

#include "engine/nn/batch_norm.h"
#include "engine/nn/conv.h"
#include "engine/nn/dropout.h"
#include "engine/nn/linear.h"
#include "engine/nn/pool.h"
#include "models/model.h"

namespace signet::models {

class SignCnn : public Model {
 public:
  explicit SignCnn(const ModelConfig& c);
  Tensor forward(const Tensor& x, RngStream& rng) override;
  const char* name() const override { return "sign_cnn"; }
  void reset_head(int64_t classes) override { fc2_ = new_head("fc2", *fc2_, classes); }

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::BatchNorm2d> bn1_, bn2_;  // null without batch_norm
  std::shared_ptr<nn::MaxPool2d> pool1_, pool2_;
  std::shared_ptr<nn::Linear> fc1_, fc2_;
  nn::Dropout dropout_;
};

}  // namespace signet::models
