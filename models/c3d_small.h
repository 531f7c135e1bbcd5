// c3d_small: a 3-D convolution classifier on clips (N, T, C, H, W), permuted to (N, C, T, H, W).
// Conv3d "conv1" (16, C, 3, 3, 3, pad 1) + ReLU + MaxPool3d (1, 2, 2), Conv3d "conv2" (32, 16,
// 3, 3, 3, pad 1) + ReLU + MaxPool3d (2, 2, 2), global average pool over (T, H, W), Linear "fc"
// (classes, 32). The first pool keeps the time axis, as C3D's pool1 does.
#pragma once
#include <memory>

#include "engine/nn/conv.h"
#include "engine/nn/linear.h"
#include "engine/nn/pool.h"
#include "models/model.h"

namespace signet::models {

class C3dSmall : public Model {
 public:
  explicit C3dSmall(const ModelConfig& c);
  Tensor forward(const Tensor& x, RngStream& rng) override;
  const char* name() const override { return "c3d_small"; }
  void reset_head(int64_t classes) override { fc_ = new_head("fc", *fc_, classes); }

 private:
  std::shared_ptr<nn::Conv3d> conv1_, conv2_;
  std::shared_ptr<nn::MaxPool3d> pool1_, pool2_;
  std::shared_ptr<nn::Linear> fc_;
};

}  // namespace signet::models
