// frame_cnn: the no-temporal-model baseline. A small CNN classifies every frame of a clip
// (N, T, C, H, W) on its own; the clip's logits are the mean over frames.
// Layers: Conv2d "conv1" (16, C, 3, 3, pad 1) + ReLU + max-pool 2, Conv2d "conv2" (32, 16, 3, 3,
// pad 1) + ReLU, global average pool, Linear "fc" (classes, 32).
#pragma once
#include <memory>

#include "engine/nn/conv.h"
#include "engine/nn/linear.h"
#include "engine/nn/pool.h"
#include "models/model.h"

namespace signet::models {

class FrameCnn : public Model {
 public:
  explicit FrameCnn(const ModelConfig& c);
  Tensor forward(const Tensor& x, RngStream& rng) override;
  const char* name() const override { return "frame_cnn"; }
  void reset_head(int64_t classes) override { fc_ = new_head("fc", *fc_, classes); }

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::MaxPool2d> pool1_;
  std::shared_ptr<nn::Linear> fc_;
};

}  // namespace signet::models
