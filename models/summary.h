// Model summaries (`signet summary`): every traced layer (dotted name, torch.nn type, output
// shape, parameters, FLOPs per sample), the totals, and the activation memory of training.
//
// FLOPs count a multiply-add as 2 and ignore biases, activations and element-wise gate math:
//   Conv2d/Conv3d: 2 * output elements * (in_channels / groups * kernel volume)
//   Linear:        2 * output elements * in_features
//   LSTM:          2 * T * sum over layers and directions of 4H * (layer input + H)
//   ConvLSTM:      2 * T * H * W * sum over layers of 4 hidden * (layer input + hidden) * k * k
//   pools:         0 (no multiply-adds)
// Activation memory is measured, not estimated: the bytes the CPU allocator still holds after
// a training-mode forward at the batch size (what the autograd graph keeps for backward, and
// the logits), after a warm-up forward so that cached packed weights are not counted.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/model.h"

namespace signet::models {

// One traced module call.
struct LayerSummary {
  std::string name;  // dotted PyTorch name ("conv1", "lstm")
  std::string type;  // torch.nn type ("Conv2d", "LSTM")
  Shape output;      // with the batch dim
  int64_t params = 0;
  double flops = 0;  // per sample
};

struct ModelSummary {
  std::string model;
  Shape input;  // with the batch dim
  std::vector<LayerSummary> layers;
  int64_t params = 0;
  size_t param_bytes = 0;
  double flops = 0;  // per sample, sum over layers
  size_t activation_bytes = 0;
};

// The input shape of the registered model called name for a batch: (B, features) for mlp,
// (B, frames, features) for feature_lstm, (B, C, H, W) for sign_cnn, (B, frames, C, H, W) for
// the clip models.
Shape input_shape(const std::string& name, const ModelConfig& c, int64_t frames, int64_t batch);
// Runs model forward (no backward) on random input of shape input (batch first) in training
// mode and summarises it; the model's mode is restored.
ModelSummary summarize(Model& model, const Shape& input);
// The summary as a table followed by the totals.
std::string format_summary(const ModelSummary& s);

}  // namespace signet::models
