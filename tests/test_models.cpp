// The model registry and end-to-end training on tiny data: each model overfits 16 samples.
#include <gtest/gtest.h>

#include "engine/ops.h"
#include "engine/optim/adam.h"
#include "models/registry.h"
#include "tests/support/expect_error.h"

namespace signet {
namespace {

using testing::expect_error;

// Trains model on (x, y) with Adam for steps full-batch updates; returns the final accuracy.
double overfit(models::Model& model, const Tensor& x, const Tensor& y, int steps, double lr) {
  optim::AdamOptions o;
  o.lr = lr;
  optim::Adam adam({optim::group_of(model)}, o);
  RngStream rng = dropout_stream(3, 0);
  for (int s = 0; s < steps; ++s) {
    adam.zero_grad();
    cross_entropy(model.forward(x, rng), y).backward();
    adam.step();
  }
  model.train(false);
  std::vector<int64_t> pred = argmax(model.forward(x, rng), 1).to_vector<int64_t>();
  std::vector<int64_t> want = y.to_vector<int64_t>();
  int64_t hit = 0;
  for (size_t i = 0; i < want.size(); ++i) hit += pred[i] == want[i];
  return static_cast<double>(hit) / static_cast<double>(want.size());
}

TEST(Models, UnknownNameListsKnownModels) {
  expect_error([] { models::create_model("resnet", {}); }, {"resnet", "mlp", "feature_lstm"});
}

TEST(Models, FeatureLstmHasPyTorchNamesAndShapes) {
  models::ModelConfig c;
  c.features = 5;
  c.hidden = 6;
  c.layers = 2;
  c.classes = 4;
  auto m = models::create_model("feature_lstm", c);
  std::vector<std::string> names;
  for (auto& [n, p] : m->named_parameters()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0",
                       "lstm.bias_hh_l0", "lstm.weight_ih_l1", "lstm.weight_hh_l1",
                       "lstm.bias_ih_l1", "lstm.bias_hh_l1", "fc.weight", "fc.bias"}));
  RngStream rng = dropout_stream(1, 0);
  EXPECT_EQ(m->forward(randn({3, 7, 5}), rng).shape(), (Shape{3, 4}));
  expect_error([&] { m->forward(randn({3, 5}), rng); }, {"feature_lstm", "[3, 5]"});
}

TEST(Models, ImageAndClipModelsShapesAndNames) {
  models::ModelConfig c;
  c.classes = 5;
  c.channels = 1;
  c.height = 12;
  c.width = 12;
  c.hidden = 4;
  c.layers = 1;
  RngStream rng = dropout_stream(1, 0);
  auto cnn = models::create_model("sign_cnn", c);
  EXPECT_EQ(cnn->named_parameters().front().first, "conv1.weight");
  EXPECT_EQ(cnn->named_parameters().back().first, "fc2.bias");
  EXPECT_EQ(cnn->forward(randn({2, 1, 12, 12}), rng).shape(), (Shape{2, 5}));
  for (const char* name : {"frame_cnn", "convlstm"}) {
    auto m = models::create_model(name, c);
    EXPECT_EQ(m->forward(randn({2, 3, 1, 12, 12}), rng).shape(), (Shape{2, 5})) << name;
    expect_error([&] { m->forward(randn({2, 1, 12, 12}), rng); }, {name, "(N, T, C, H, W)"});
  }
  auto cl = models::create_model("convlstm", c);
  EXPECT_EQ(cl->named_parameters()[2].first, "convlstm.cell_list.0.conv.weight");
}

TEST(Models, SignCnnAndConvLstmOverfitSixteenSamples) {
  manual_seed(13);
  models::ModelConfig c;
  c.classes = 4;
  c.height = 10;
  c.width = 10;
  c.hidden = 8;
  c.layers = 1;
  Tensor y = from_vector<int64_t>({0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3});
  auto cnn = models::create_model("sign_cnn", c);
  EXPECT_EQ(overfit(*cnn, randn({16, 1, 10, 10}), y, 60, 3e-3), 1.0);
  auto cl = models::create_model("convlstm", c);
  EXPECT_EQ(overfit(*cl, randn({16, 3, 1, 8, 8}), y, 80, 1e-2), 1.0);
}

TEST(Models, MlpOverfitsSixteenSamples) {
  manual_seed(11);
  models::ModelConfig c;
  c.features = 8;
  c.hidden = 32;
  c.layers = 2;
  c.classes = 4;
  auto m = models::create_model("mlp", c);
  Tensor x = randn({16, 8});
  Tensor y = from_vector<int64_t>({0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3});
  EXPECT_EQ(overfit(*m, x, y, 200, 1e-2), 1.0);
}

TEST(Models, FeatureLstmOverfitsSixteenSequences) {
  manual_seed(12);
  models::ModelConfig c;
  c.features = 3;
  c.hidden = 16;
  c.layers = 1;
  c.classes = 4;
  auto m = models::create_model("feature_lstm", c);
  Tensor x = randn({16, 5, 3});
  Tensor y = from_vector<int64_t>({3, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1, 0});
  EXPECT_EQ(overfit(*m, x, y, 300, 2e-2), 1.0);
}

}  // namespace
}  // namespace signet
