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
  for (const char* name : {"frame_cnn", "convlstm", "cnn_lstm", "c3d_small"}) {
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

TEST(Models, CnnLstmAndC3dHavePyTorchNamesAndShapes) {
  models::ModelConfig c;
  c.classes = 3;
  c.channels = 2;
  c.hidden = 5;
  c.layers = 1;
  auto m = models::create_model("cnn_lstm", c);
  std::vector<std::pair<std::string, Shape>> got;
  for (auto& [n, p] : m->named_parameters()) got.emplace_back(n, p.shape());
  EXPECT_EQ(got, (std::vector<std::pair<std::string, Shape>>{{"conv1.weight", {16, 2, 3, 3}},
                                                             {"conv1.bias", {16}},
                                                             {"conv2.weight", {32, 16, 3, 3}},
                                                             {"conv2.bias", {32}},
                                                             {"lstm.weight_ih_l0", {20, 32}},
                                                             {"lstm.weight_hh_l0", {20, 5}},
                                                             {"lstm.bias_ih_l0", {20}},
                                                             {"lstm.bias_hh_l0", {20}},
                                                             {"fc.weight", {3, 5}},
                                                             {"fc.bias", {3}}}));
  auto c3d = models::create_model("c3d_small", c);
  got.clear();
  for (auto& [n, p] : c3d->named_parameters()) got.emplace_back(n, p.shape());
  EXPECT_EQ(got, (std::vector<std::pair<std::string, Shape>>{{"conv1.weight", {16, 2, 3, 3, 3}},
                                                             {"conv1.bias", {16}},
                                                             {"conv2.weight", {32, 16, 3, 3, 3}},
                                                             {"conv2.bias", {32}},
                                                             {"fc.weight", {3, 32}},
                                                             {"fc.bias", {3}}}));
  RngStream rng = dropout_stream(1, 0);
  expect_error(
      [&] {
        c3d->forward(randn({2, 1, 2, 8, 8}), rng);
      },
      {"c3d_small", "[2, 1, 2, 8, 8]"});
  expect_error([&] { m->forward(randn({2, 3, 2, 3, 3}), rng); }, {"cnn_lstm", "[2, 3, 2, 3, 3]"});
}

TEST(Models, EveryModelBackpropagatesToEveryParameter) {
  manual_seed(5);
  models::ModelConfig c;
  c.classes = 3;
  c.features = 4;
  c.channels = 1;
  c.height = 10;
  c.width = 10;
  c.hidden = 4;
  c.layers = 1;
  RngStream rng = dropout_stream(2, 0);
  Tensor y = from_vector<int64_t>({0, 1});
  for (const models::ModelEntry& e : models::registry()) {
    auto m = e.create(c);
    std::string n = e.name;
    Tensor x = n == "mlp"            ? randn({2, 4})
               : n == "feature_lstm" ? randn({2, 3, 4})
               : n == "sign_cnn"     ? randn({2, 1, 10, 10})
                                     : randn({2, 4, 1, 10, 10});
    cross_entropy(m->forward(x, rng), y).backward();
    for (auto& [pn, p] : m->named_parameters()) {
      ASSERT_TRUE(p.grad().defined()) << n << " " << pn;
      EXPECT_GT(sum(abs(p.grad())).item(), 0.0) << n << " " << pn;
    }
  }
}

TEST(Models, CnnLstmAndC3dOverfitSixteenClips) {
  manual_seed(17);
  models::ModelConfig c;
  c.classes = 4;
  c.hidden = 16;
  c.layers = 1;
  Tensor y = from_vector<int64_t>({0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3});
  Tensor x = randn({16, 4, 1, 8, 8});
  auto cl = models::create_model("cnn_lstm", c);
  EXPECT_EQ(overfit(*cl, x, y, 150, 1e-2), 1.0);
  auto c3d = models::create_model("c3d_small", c);
  EXPECT_EQ(overfit(*c3d, x, y, 100, 1e-2), 1.0);
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
