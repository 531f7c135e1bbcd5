// Model summaries: traced layer names, types and shapes, parameter counts, the FLOP formulas
// worked by hand, and the measured activation memory growing with the batch.
#include <gtest/gtest.h>

#include "engine/nn/trace.h"
#include "engine/ops.h"
#include "models/registry.h"
#include "models/summary.h"
#include "tests/support/expect_error.h"

namespace signet {
namespace {

using testing::expect_error;

// sign_cnn on 1x12x12: conv1 (32, 10, 10), pool (32, 5, 5), conv2 (64, 3, 3), pool (64, 1, 1).
models::ModelConfig small_cnn() {
  models::ModelConfig c;
  c.height = c.width = 12;
  c.classes = 5;
  return c;
}

TEST(Summary, SignCnnLayersShapesParamsAndFlops) {
  models::ModelConfig c = small_cnn();
  auto m = models::create_model("sign_cnn", c);
  models::ModelSummary s = models::summarize(*m, models::input_shape("sign_cnn", c, 1, 3));
  std::vector<std::tuple<std::string, std::string, Shape>> got;
  for (const auto& l : s.layers) got.emplace_back(l.name, l.type, l.output);
  EXPECT_EQ(got, (std::vector<std::tuple<std::string, std::string, Shape>>{
                     {"conv1", "Conv2d", {3, 32, 10, 10}},
                     {"pool1", "MaxPool2d", {3, 32, 5, 5}},
                     {"conv2", "Conv2d", {3, 64, 3, 3}},
                     {"pool2", "MaxPool2d", {3, 64, 1, 1}},
                     {"fc1", "Linear", {3, 128}},
                     {"fc2", "Linear", {3, 5}}}));
  EXPECT_EQ(s.layers[0].params, 32 * 9 + 32);
  EXPECT_EQ(s.layers[2].params, 64 * 32 * 9 + 64);
  EXPECT_EQ(s.layers[1].params, 0);
  EXPECT_EQ(s.params, 320 + 18496 + (64 * 128 + 128) + (128 * 5 + 5));
  EXPECT_EQ(s.param_bytes, 4u * static_cast<size_t>(s.params));
  EXPECT_DOUBLE_EQ(s.layers[0].flops, 2.0 * 32 * 100 * 9);
  EXPECT_DOUBLE_EQ(s.layers[2].flops, 2.0 * 64 * 9 * 32 * 9);
  EXPECT_DOUBLE_EQ(s.layers[4].flops, 2.0 * 128 * 64);
  EXPECT_DOUBLE_EQ(s.layers[1].flops, 0.0);
  EXPECT_DOUBLE_EQ(s.flops, 2.0 * (32 * 100 * 9 + 64 * 9 * 32 * 9 + 128 * 64 + 5 * 128));
  EXPECT_TRUE(m->training());
}

TEST(Summary, SignCnnWithBatchNormListsItsNormLayers) {
  models::ModelConfig c = small_cnn();
  c.batch_norm = true;
  auto m = models::create_model("sign_cnn", c);
  models::ModelSummary s = models::summarize(*m, models::input_shape("sign_cnn", c, 1, 3));
  std::vector<std::tuple<std::string, std::string, Shape>> got;
  for (const auto& l : s.layers) got.emplace_back(l.name, l.type, l.output);
  EXPECT_EQ(got, (std::vector<std::tuple<std::string, std::string, Shape>>{
                     {"conv1", "Conv2d", {3, 32, 10, 10}},
                     {"bn1", "BatchNorm2d", {3, 32, 10, 10}},
                     {"pool1", "MaxPool2d", {3, 32, 5, 5}},
                     {"conv2", "Conv2d", {3, 64, 3, 3}},
                     {"bn2", "BatchNorm2d", {3, 64, 3, 3}},
                     {"pool2", "MaxPool2d", {3, 64, 1, 1}},
                     {"fc1", "Linear", {3, 128}},
                     {"fc2", "Linear", {3, 5}}}));
  EXPECT_EQ(s.layers[1].params, 2 * 32);  // weight and bias; the running statistics are buffers
  EXPECT_EQ(s.layers[4].params, 2 * 64);
  EXPECT_EQ(s.params, 320 + 18496 + (64 * 128 + 128) + (128 * 5 + 5) + 2 * 32 + 2 * 64);
  EXPECT_DOUBLE_EQ(s.flops, 2.0 * (32 * 100 * 9 + 64 * 9 * 32 * 9 + 128 * 64 + 5 * 128));
  EXPECT_TRUE(m->training());
  for (auto& [name, b] : m->named_buffers())  // the traced passes left the statistics alone
    EXPECT_EQ(sum(abs(b.to(DType::f64))).item(),
              name.find("running_var") != std::string::npos ? (name[2] == '1' ? 32.0 : 64.0) : 0.0)
        << name;
}

TEST(Summary, RecurrentFlopsFollowTheFormulas) {
  models::ModelConfig c;
  c.features = 6;
  c.hidden = 8;
  c.layers = 2;
  c.classes = 4;
  auto m = models::create_model("feature_lstm", c);
  models::ModelSummary s = models::summarize(*m, models::input_shape("feature_lstm", c, 7, 2));
  ASSERT_EQ(s.layers.size(), 2u);
  EXPECT_EQ(s.layers[0].name, "lstm");
  EXPECT_EQ(s.layers[0].output, (Shape{2, 7, 8}));
  EXPECT_DOUBLE_EQ(s.layers[0].flops, 2.0 * 7 * (32 * (6 + 8) + 32 * (8 + 8)));
  models::ModelConfig v;
  v.height = v.width = 8;
  v.hidden = 4;
  v.layers = 1;
  auto cl = models::create_model("convlstm", v);
  models::ModelSummary t = models::summarize(*cl, models::input_shape("convlstm", v, 3, 2));
  ASSERT_EQ(t.layers.size(), 4u);
  EXPECT_EQ(t.layers[2].name, "convlstm");
  EXPECT_EQ(t.layers[2].type, "ConvLSTM");
  EXPECT_EQ(t.layers[2].output, (Shape{2, 3, 4, 4, 4}));
  EXPECT_DOUBLE_EQ(t.layers[2].flops, 2.0 * 3 * 16 * 16 * (16 + 4) * 9);
}

TEST(Summary, DoubleModelsGetDoubleInputs) {
  models::ModelConfig c = small_cnn();
  c.dtype = DType::f64;
  auto m = models::create_model("sign_cnn", c);
  models::ModelSummary s = models::summarize(*m, models::input_shape("sign_cnn", c, 1, 2));
  EXPECT_EQ(s.param_bytes, 8u * static_cast<size_t>(s.params));
  EXPECT_EQ(s.layers.size(), 6u);
}

TEST(Summary, EveryModelSummarisesAndActivationMemoryGrowsWithTheBatch) {
  models::ModelConfig c;
  c.height = c.width = 12;
  c.hidden = 4;
  c.layers = 1;
  for (const models::ModelEntry& e : models::registry()) {
    auto m = models::create_model(e.name, c);
    models::ModelSummary a = models::summarize(*m, models::input_shape(e.name, c, 4, 2));
    models::ModelSummary b = models::summarize(*m, models::input_shape(e.name, c, 4, 8));
    EXPECT_FALSE(a.layers.empty()) << e.name;
    EXPECT_EQ(a.layers.back().output.back(), 10) << e.name;
    EXPECT_EQ(a.flops, b.flops) << e.name;
    EXPECT_GT(a.flops, 0) << e.name;
    EXPECT_GT(a.activation_bytes, 0u) << e.name;
    EXPECT_GT(b.activation_bytes, 2 * a.activation_bytes) << e.name;
    std::string text = models::format_summary(b);
    EXPECT_NE(text.find("activation memory for training at batch 8"), std::string::npos);
    EXPECT_NE(text.find(a.layers.back().name), std::string::npos);
  }
}

TEST(Summary, TraceIsOffWithoutARecorderAndRecordersDoNotNest) {
  models::ModelConfig c = small_cnn();
  auto m = models::create_model("sign_cnn", c);
  RngStream rng = dropout_stream(0, 0);
  m->forward(randn({1, 1, 12, 12}), rng);
  nn::TraceRecorder rec;
  EXPECT_TRUE(rec.entries().empty());
  expect_error([] { nn::TraceRecorder again; }, {"TraceRecorder", "already active"});
  expect_error([&] { models::summarize(*m, {}); }, {"summary", "sign_cnn"});
}

}  // namespace
}  // namespace signet
