// feature_lstm: the LSTM of the CNN+LSTM seed over precomputed per-frame features.
// Input (N, T, features), or images (N, C, H, W) read as H steps of C * W features (a row per
// step) -> LSTM (layers of hidden, Keras-style per-step input dropout) ->
// last step (with per-sample lengths: each sequence's last valid step) -> Linear -> logits
// (N, classes).
// torch equivalent: nn.LSTM(features, hidden, layers, batch_first=True) named "lstm"
// (lstm.weight_ih_l0, ...) and nn.Linear(hidden, classes) named "fc".
#pragma once
#include <memory>

#include "engine/nn/linear.h"
#include "engine/nn/lstm.h"
#include "engine/nn/recurrent_classifier.h"
#include "models/model.h"

namespace signet::models {

class FeatureLstm : public Model, public nn::RecurrentClassifier {
 public:
  explicit FeatureLstm(const ModelConfig& c);
  Tensor forward(const Tensor& x, RngStream& rng) override;
  // Sequences (N, T, features) padded after lengths[i] steps (images have no lengths).
  Tensor forward_with_lengths(const Tensor& x, const Tensor& lengths, RngStream& rng) override;
  std::pair<Tensor, nn::LstmState> forward_chunk(const Tensor& x, const nn::LstmState& state,
                                                 RngStream& rng) override;
  // Images (N, C, H, W) as (N, H, C * W); sequences unchanged.
  Tensor as_sequence(const Tensor& x) const override;
  const char* name() const override { return "feature_lstm"; }
  void reset_head(int64_t classes) override { fc_ = new_head("fc", *fc_, classes); }

 private:
  std::shared_ptr<nn::LSTM> lstm_;
  std::shared_ptr<nn::Linear> fc_;
};

}  // namespace signet::models
