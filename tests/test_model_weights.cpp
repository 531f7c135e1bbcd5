// Weights exported by PyTorch (tests/fixtures/make_model_fixtures.py) give PyTorch's outputs, and
// the transfer-learning API: load reports, a new head, frozen or separately tuned prefixes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "engine/optim/adam.h"
#include "models/registry.h"
#include "models/transfer.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"

namespace signet {
namespace {

using testing::expect_error;
using testing::fixture_path;

// The fixture's model at its sizes (as in make_model_fixtures.py).
std::shared_ptr<models::Model> fixture_model(const std::string& name) {
  models::ModelConfig c;
  if (name == "sign_cnn") {
    c.channels = 1, c.height = 14, c.width = 12, c.classes = 5, c.dropout = 0.5;
  } else if (name == "feature_lstm") {
    c.features = 6, c.hidden = 8, c.layers = 2, c.classes = 4, c.dropout = 0.5;
  } else {
    c.channels = 2, c.hidden = 6, c.layers = 2, c.classes = 3;
  }
  return models::create_model(name, c);
}

// Every element of got (f32) within 1e-5 relative (of the largest |want|, at least 1) of want.
void expect_pytorch_output(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  std::vector<double> g = got.to(DType::f64).to_vector<double>(), w = want.to_vector<double>();
  double scale = 1;
  for (double v : w) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(g[i], w[i], 1e-5 * scale) << what << " " << i;
}

TEST(ModelWeights, PyTorchWeightsGivePyTorchOutputs) {
  for (const char* name : {"sign_cnn", "feature_lstm", "cnn_lstm"}) {
    auto m = fixture_model(name);
    std::string base = std::string("model_") + name;
    models::LoadReport r = models::load_weights(*m, fixture_path(base + ".safetensors"), true);
    EXPECT_EQ(r.loaded.size(), m->named_parameters().size()) << name;
    io::SafetensorsData io = io::read_safetensors(fixture_path(base + "_io.safetensors"));
    m->train(false);
    RngStream rng = dropout_stream(1, 0);
    expect_pytorch_output(m->forward(io.tensors.at("input"), rng), io.tensors.at("output"), name);
  }
}

TEST(ModelWeights, LoadReportsMissingAndUnexpectedNames) {
  auto m = fixture_model("feature_lstm");
  std::map<std::string, Tensor> sd =
      io::read_safetensors(fixture_path("model_feature_lstm.safetensors")).tensors;
  sd.erase("fc.bias");
  sd["head.weight"] = zeros({2, 2});
  Tensor before = m->named_parameters().back().second.clone();
  models::LoadReport r = models::load_weights(*m, sd);
  EXPECT_EQ(r.missing, (std::vector<std::string>{"fc.bias"}));
  EXPECT_EQ(r.unexpected, (std::vector<std::string>{"head.weight"}));
  EXPECT_EQ(r.loaded.size(), 9u);
  EXPECT_EQ(m->named_parameters().back().second.to_vector<float>(), before.to_vector<float>());
  EXPECT_EQ(m->named_parameters()[0].second.to_vector<float>(),
            sd.at("lstm.weight_ih_l0").to_vector<float>());
  expect_error([&] { models::load_weights(*m, sd, true); },
               {"load_weights", "strict", "fc.bias", "head.weight"});
  sd["fc.bias"] = zeros({7});
  expect_error([&] { models::load_weights(*m, sd); }, {"load_weights", "fc.bias", "[7]", "[4]"});
}

TEST(ModelWeights, LoadConvertsDtypeAndShapeMismatchCopiesNothing) {
  auto m = fixture_model("feature_lstm");
  std::map<std::string, Tensor> sd;
  for (auto& [n, p] : m->named_parameters()) sd[n] = ones(p.shape(), DType::f64);
  sd["fc.weight"] = ones({1, 1}, DType::f64);
  Tensor first = m->named_parameters()[0].second.clone();
  expect_error([&] { models::load_weights(*m, sd); }, {"fc.weight", "[1, 1]", "[4, 8]"});
  EXPECT_EQ(m->named_parameters()[0].second.to_vector<float>(), first.to_vector<float>());
  sd.erase("fc.weight");
  models::load_weights(*m, sd);
  std::vector<float> w = m->named_parameters()[0].second.to_vector<float>();
  EXPECT_TRUE(std::all_of(w.begin(), w.end(), [](float v) { return v == 1.0f; }));
  EXPECT_EQ(m->named_parameters()[0].second.dtype(), DType::f32);
}

TEST(ModelWeights, ResetHeadKeepsTheBodyAndChangesTheClassCount) {
  for (const models::ModelEntry& e : models::registry()) {
    models::ModelConfig c;
    c.height = c.width = 10;
    c.hidden = 4;
    c.layers = 1;
    c.classes = 3;
    auto m = e.create(c);
    auto before = m->named_parameters();
    m->reset_head(7);
    auto after = m->named_parameters();
    ASSERT_EQ(after.size(), before.size()) << e.name;
    for (size_t i = 0; i < after.size(); ++i) {
      EXPECT_EQ(after[i].first, before[i].first) << e.name;
      bool head = i + 2 >= after.size();
      EXPECT_EQ(after[i].second.same(before[i].second), !head) << e.name << " " << after[i].first;
      if (head) {
        EXPECT_EQ(after[i].second.size(0), 7) << e.name << " " << after[i].first;
      }
    }
    std::string n = e.name;
    Tensor x = n == "mlp"            ? randn({2, 2})
               : n == "feature_lstm" ? randn({2, 3, 2})
               : n == "sign_cnn"     ? randn({2, 1, 10, 10})
                                     : randn({2, 4, 1, 10, 10});
    RngStream rng = dropout_stream(1, 0);
    EXPECT_EQ(m->forward(x, rng).shape(), (Shape{2, 7})) << e.name;
    expect_error([&] { m->reset_head(0); }, {e.name, "reset_head", "0"});
  }
}

TEST(ModelWeights, ParamGroupsFreezeAndTunePrefixes) {
  auto m = fixture_model("cnn_lstm");
  std::vector<optim::ParamGroup> g =
      models::param_groups(*m, {{"conv", true, {}}, {"lstm.", false, 1e-4}});
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].params.size(), 4u);
  EXPECT_TRUE(g[0].frozen);
  EXPECT_EQ(g[1].params.size(), 8u);
  EXPECT_EQ(g[1].lr, 1e-4);
  EXPECT_FALSE(g[1].frozen);
  EXPECT_EQ(g[2].params.size(), 2u);
  EXPECT_EQ(g[2].params[0].first, "fc.weight");
  EXPECT_FALSE(g[2].lr.has_value());
  EXPECT_EQ(models::param_groups(*m, {{"", true, {}}}).size(), 1u);
  expect_error(
      [&] {
        models::param_groups(*m, {{"conv3", true, {}}});
      },
      {"param_groups", "conv3", "conv1.weight"});
}

TEST(ModelWeights, FineTuningANewHeadLeavesFrozenLayersBitExact) {
  manual_seed(21);
  auto m = fixture_model("cnn_lstm");
  models::load_weights(*m, fixture_path("model_cnn_lstm.safetensors"), true);
  m->reset_head(2);
  optim::Adam adam(models::param_groups(*m, {{"conv", true, {}}}), {});
  std::map<std::string, std::vector<float>> before;
  for (auto& [n, p] : m->named_parameters()) before[n] = p.to_vector<float>();
  RngStream rng = dropout_stream(1, 0);
  Tensor x = rand({4, 3, 2, 9, 10});
  Tensor y = from_vector<int64_t>({0, 1, 1, 0});
  for (int s = 0; s < 3; ++s) {
    adam.zero_grad();
    cross_entropy(m->forward(x, rng), y).backward();
    adam.step();
  }
  for (auto& [n, p] : m->named_parameters()) {
    bool frozen = n.rfind("conv", 0) == 0;
    EXPECT_EQ(p.to_vector<float>() == before[n], frozen) << n;
  }
}

}  // namespace
}  // namespace signet
