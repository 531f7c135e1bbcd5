#include "models/registry.h"

#include "models/c3d_small.h"
#include "models/cnn_lstm.h"
#include "models/convlstm.h"
#include "models/feature_lstm.h"
#include "models/frame_cnn.h"
#include "models/mlp.h"
#include "models/sign_cnn.h"

namespace signet::models {
namespace {

// Adapts a model's constructor to the registry's factory signature.
template <class M>
std::shared_ptr<Model> make(const ModelConfig& c) {
  return std::make_shared<M>(c);
}

}  // namespace

const std::vector<ModelEntry>& registry() {
  static const std::vector<ModelEntry> entries = {
      {"mlp", "ReLU multi-layer perceptron on flat features", &make<Mlp>},
      {"feature_lstm", "LSTM over per-frame feature sequences (the CNN+LSTM seed's head)",
       &make<FeatureLstm>},
      {"sign_cnn", "the hand-shape CNN of the Sign-Language-MNIST seed", &make<SignCnn>},
      {"frame_cnn", "per-frame CNN, logits averaged over frames (no temporal model)",
       &make<FrameCnn>},
      {"convlstm", "ConvLSTM video classifier (per-frame conv stem, ConvLSTM, pool, dense)",
       &make<ConvLstmClassifier>},
      {"cnn_lstm", "per-frame CNN feeding an LSTM, trained end to end on clips", &make<CnnLstm>},
      {"c3d_small", "3-D convolution classifier on clips (Conv3d blocks, pool, dense)",
       &make<C3dSmall>},
  };
  return entries;
}

std::shared_ptr<Model> create_model(const std::string& name, const ModelConfig& config) {
  std::string known;
  for (const ModelEntry& e : registry()) {
    if (name == e.name) return e.create(config);
    known += std::string(known.empty() ? "" : ", ") + e.name;
  }
  SIGNET_FAIL("unknown model '", name, "'; known models: ", known);
}

}  // namespace signet::models
