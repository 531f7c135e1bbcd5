// A classifier model: a Module whose forward maps a batch to logits (N, classes), built from
// a ModelConfig by name through the registry (models/registry.h).
#pragma once
#include <cstdint>
#include <string>

#include <memory>

#include "engine/nn/classifier.h"
#include "engine/nn/linear.h"

namespace signet::models {

// Sizes and knobs shared by the seed models; each model reads the fields it needs.
struct ModelConfig {
  int64_t classes = 10;
  int64_t features = 2;  // per-step features (feature_lstm) or inputs (mlp)
  int64_t hidden = 64;   // hidden units (mlp, feature_lstm)
  int64_t layers = 2;    // hidden layers (mlp) or recurrent layers (feature_lstm)
  double dropout = 0.0;  // feature_lstm: per-step input dropout; sign_cnn: before the head
  int64_t channels = 1;  // image or frame channels (sign_cnn, frame_cnn, convlstm)
  int64_t height = 28, width = 28;
  bool batch_norm = false;  // sign_cnn: BatchNorm2d after each convolution
  DType dtype = DType::f32;
};

class Model : public nn::Classifier {
 public:
  // The registry name ("feature_lstm", ...).
  virtual const char* name() const = 0;
  // Replaces the classification head by a freshly initialised one with `classes` outputs
  // (transfer learning); the rest of the model keeps its weights.
  virtual void reset_head(int64_t classes) = 0;

 protected:
  // Checks per-sample lengths beside sequences x (N, T, ...): i64 (N), each in 1..T.
  void check_lengths(const Tensor& lengths, const Tensor& x) const;
  // A new Linear with head's inputs and dtype and `classes` outputs, registered in place of the
  // sub-module called name.
  std::shared_ptr<nn::Linear> new_head(const std::string& name, const nn::Linear& head,
                                       int64_t classes);
};

}  // namespace signet::models
