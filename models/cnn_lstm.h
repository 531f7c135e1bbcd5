// cnn_lstm: a small per-frame CNN feeding an LSTM, trained end to end on clips (N, T, C, H, W).
// Per frame: Conv2d "conv1" (16, C, 3, 3, pad 1) + ReLU + max-pool 2, Conv2d "conv2" (32, 16, 3,
// 3, pad 1) + ReLU + max-pool 2, global average pool -> 32 features; LSTM "lstm" (32 -> hidden,
// layers, batch_first, Keras-style per-step input dropout) over the frames; the last step's
// hidden state -> Linear "fc" (classes, hidden). With per-sample lengths (clips padded to T) the
// LSTM stops at each clip's last valid frame and that frame's hidden state is classified.
#pragma once
#include <memory>

#include "engine/nn/conv.h"
#include "engine/nn/linear.h"
#include "engine/nn/lstm.h"
#include "engine/nn/pool.h"
#include "engine/nn/recurrent_classifier.h"
#include "models/model.h"

namespace signet::models {

class CnnLstm : public Model, public nn::RecurrentClassifier {
 public:
  explicit CnnLstm(const ModelConfig& c);
  Tensor forward(const Tensor& x, RngStream& rng) override;
  Tensor forward_with_lengths(const Tensor& x, const Tensor& lengths, RngStream& rng) override;
  std::pair<Tensor, nn::LstmState> forward_chunk(const Tensor& x, const nn::LstmState& state,
                                                 RngStream& rng) override;
  const char* name() const override { return "cnn_lstm"; }
  void reset_head(int64_t classes) override { fc_ = new_head("fc", *fc_, classes); }

 private:
  // The per-frame CNN's features (N, T, 32) of clips x (checked).
  Tensor frame_features(const Tensor& x);

  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::MaxPool2d> pool1_, pool2_;
  std::shared_ptr<nn::LSTM> lstm_;
  std::shared_ptr<nn::Linear> fc_;
};

}  // namespace signet::models
