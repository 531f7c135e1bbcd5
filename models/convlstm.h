// convlstm: the ConvLSTM video classifier of the WLASL seed on clips (N, T, C, H, W).
// A per-frame convolutional stem (Conv2d "stem" (16, C, 3, 3, pad 1) + ReLU + max-pool 2), a
// ConvLSTM "convlstm" (16 -> hidden channels, 3x3, layers), global max pooling of the last
// hidden map, Linear "fc" (classes, hidden). (The seed's stem is a Conv3d; a per-frame 2-D stem
// keeps the time axis for the recurrence.) For truncated BPTT the layers' (h, c) maps are
// carried stacked as (layers, N, hidden, H', W') in an LstmState.
#pragma once
#include <memory>

#include "engine/nn/conv.h"
#include "engine/nn/conv_lstm.h"
#include "engine/nn/linear.h"
#include "engine/nn/pool.h"
#include "engine/nn/recurrent_classifier.h"
#include "models/model.h"

namespace signet::models {

class ConvLstmClassifier : public Model, public nn::RecurrentClassifier {
 public:
  explicit ConvLstmClassifier(const ModelConfig& c);
  Tensor forward(const Tensor& x, RngStream& rng) override;
  std::pair<Tensor, nn::LstmState> forward_chunk(const Tensor& x, const nn::LstmState& state,
                                                 RngStream& rng) override;
  const char* name() const override { return "convlstm"; }
  void reset_head(int64_t classes) override { fc_ = new_head("fc", *fc_, classes); }

 private:
  // Logits and every layer's last (h, c) for clips x from state (empty: zeros).
  std::pair<Tensor, nn::ConvLstmState> run(const Tensor& x, const nn::ConvLstmState& state);

  std::shared_ptr<nn::Conv2d> stem_;
  std::shared_ptr<nn::MaxPool2d> pool_;
  std::shared_ptr<nn::ConvLSTM> convlstm_;
  std::shared_ptr<nn::Linear> fc_;
};

}  // namespace signet::models
