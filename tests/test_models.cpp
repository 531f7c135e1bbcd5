// The model registry and end-to-end training on tiny data: each model overfits 16 samples;
// sign_cnn's optional batch norm; the recurrent models' chunked forward (truncated BPTT).
#include <gtest/gtest.h>

#include <map>

#include "engine/autograd.h"
#include "engine/nn/recurrent_classifier.h"
#include "engine/ops.h"
#include "engine/ops/conv.h"
#include "engine/ops/pool.h"
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

TEST(Models, SignCnnBatchNormHasTorchNamesAndOverfits) {
  models::ModelConfig c;
  c.classes = 4;
  c.height = c.width = 12;
  c.batch_norm = true;
  manual_seed(5);
  auto m = models::create_model("sign_cnn", c);
  std::vector<std::string> names;
  for (auto& [n, t] : m->state_dict()) names.push_back(n);
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "bn1.weight",
                "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
                "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var",
                "bn2.num_batches_tracked", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}));
  c.batch_norm = false;
  EXPECT_EQ(models::create_model("sign_cnn", c)->state_dict().size(), 8u);
  Tensor x = randn({16, 1, 12, 12});
  Tensor y = from_vector<int64_t>({0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3});
  EXPECT_EQ(overfit(*m, x, y, 30, 1e-2), 1.0);
  // Training moved the running statistics away from their initial zeros.
  double moved = 0;
  for (auto& [n, t] : m->state_dict())
    if (n == "bn1.running_mean") moved = sum(abs(t)).item();
  EXPECT_GT(moved, 0.0);
}

// sign_cnn pools before its ReLUs; that must give the issue's conv, ReLU, max-pool order exactly,
// forward and every parameter gradient (ties and zeros included: x is rounded to a coarse grid).
TEST(Models, SignCnnPoolBeforeReluEqualsReluBeforePool) {
  models::ModelConfig c;
  c.classes = 4;
  c.height = c.width = 12;
  manual_seed(13);
  auto m = models::create_model("sign_cnn", c);
  m->train(false);
  Tensor x = (randn({5, 1, 12, 12}) * 2.0).to(DType::i64).to(DType::f32);
  RngStream rng = dropout_stream(1, 0);
  std::map<std::string, Tensor> p;
  for (auto& [n, t] : m->named_parameters()) p[n] = t;
  auto issue_order = [&] {
    Tensor y = max_pool2d(relu(conv2d(x, p["conv1.weight"], p["conv1.bias"])), {2});
    y = max_pool2d(relu(conv2d(y, p["conv2.weight"], p["conv2.bias"])), {2});
    y = relu(linear(y.flatten(1), p["fc1.weight"], p["fc1.bias"]));
    return linear(y, p["fc2.weight"], p["fc2.bias"]);
  };
  std::vector<Tensor> outs = {m->forward(x, rng), issue_order()};
  std::vector<std::vector<float>> grads[2];
  for (int k = 0; k < 2; ++k) {
    for (auto& [n, t] : p) t.zero_grad();
    sum(outs[static_cast<size_t>(k)] * outs[static_cast<size_t>(k)]).backward();
    for (auto& [n, t] : p) grads[k].push_back(t.grad().to_vector<float>());
  }
  EXPECT_EQ(outs[0].to_vector<float>(), outs[1].to_vector<float>());
  EXPECT_EQ(grads[0], grads[1]);
}

TEST(Models, FeatureLstmReadsImagesAsRowSequences) {
  models::ModelConfig c;
  c.features = 2 * 5;  // C * W
  c.hidden = 6;
  c.layers = 2;
  c.classes = 3;
  auto m = models::create_model("feature_lstm", c);
  m->train(false);
  RngStream rng = dropout_stream(1, 0);
  Tensor images = randn({4, 2, 7, 5});                             // (N, C, H, W)
  Tensor rows = images.permute({0, 2, 1, 3}).reshape({4, 7, 10});  // torch's row reading
  EXPECT_EQ(m->forward(images, rng).to_vector<float>(), m->forward(rows, rng).to_vector<float>());
  auto* r = dynamic_cast<nn::RecurrentClassifier*>(m.get());  // TBPTT cuts the rows into chunks
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->as_sequence(images).to_vector<float>(), rows.to_vector<float>());
}

// Logits of the whole sequence, and of its two halves run with the state carried across.
void expect_chunks_carry_state(const std::string& name, const models::ModelConfig& c,
                               const Tensor& x) {
  auto m = models::create_model(name, c);
  m->train(false);
  auto* r = dynamic_cast<nn::RecurrentClassifier*>(m.get());
  ASSERT_NE(r, nullptr) << name;
  NoGradGuard no_grad;
  RngStream rng = dropout_stream(1, 0);
  std::vector<float> whole = m->forward(x, rng).to_vector<float>();
  int64_t T = x.size(1), half = T / 2;
  auto first = r->forward_chunk(x.narrow(1, 0, half), {}, rng);
  auto second = r->forward_chunk(x.narrow(1, half, T - half), first.second, rng);
  std::vector<float> chunked = second.first.to_vector<float>();
  ASSERT_EQ(chunked.size(), whole.size());
  for (size_t i = 0; i < whole.size(); ++i) EXPECT_NEAR(chunked[i], whole[i], 1e-5) << name;
  std::vector<float> fresh =
      r->forward_chunk(x.narrow(1, half, T - half), {}, rng).first.to_vector<float>();
  EXPECT_NE(fresh, whole) << name << ": the state must matter";
}

TEST(Models, RecurrentModelsCarryTheirStateAcrossChunks) {
  models::ModelConfig c;
  c.classes = 3;
  c.features = 4;
  c.hidden = 5;
  c.layers = 2;
  c.channels = 2;
  c.height = c.width = 10;
  manual_seed(9);
  expect_chunks_carry_state("feature_lstm", c, randn({3, 6, 4}));
  expect_chunks_carry_state("cnn_lstm", c, randn({3, 6, 2, 10, 10}));
  expect_chunks_carry_state("convlstm", c, rand({3, 6, 2, 10, 10}));
  for (const char* flat : {"mlp", "sign_cnn", "frame_cnn", "c3d_small"})
    EXPECT_EQ(dynamic_cast<nn::RecurrentClassifier*>(models::create_model(flat, c).get()), nullptr)
        << flat;
}

// With per-sample lengths {T, 2, 4}, model classifies each sequence of x (3, T, ...) as the
// sequence cut to its length alone would be, whatever fills the padding; whole lengths change
// nothing and wrong ones are refused naming the model.
void expect_lengths_cut_sequences(const char* name, const models::ModelConfig& c, const Tensor& x) {
  manual_seed(11);
  auto m = models::create_model(name, c);
  m->train(false);
  RngStream rng = dropout_stream(1, 0);
  const int64_t T = x.size(1);
  Tensor lengths = from_vector<int64_t>({T, 2, 4});
  std::vector<float> got = m->forward_with_lengths(x, lengths, rng).to_vector<float>();
  const std::vector<int64_t> len = lengths.to_vector<int64_t>();
  for (int64_t i = 0; i < 3; ++i) {
    Tensor alone = x.narrow(0, i, 1).narrow(1, 0, len[static_cast<size_t>(i)]).contiguous();
    std::vector<float> want = m->forward(alone, rng).to_vector<float>();
    for (int64_t k = 0; k < c.classes; ++k)
      EXPECT_NEAR(got[static_cast<size_t>(i * c.classes + k)], want[static_cast<size_t>(k)], 1e-5)
          << name << " sequence " << i << " class " << k;
  }
  Tensor repadded = x.clone();
  {
    NoGradGuard no_grad;
    Tensor pad = repadded.narrow(0, 1, 1).narrow(1, 2, T - 2);
    pad.copy_(randn(pad.shape()));
  }
  EXPECT_EQ(m->forward_with_lengths(repadded, lengths, rng).to_vector<float>(), got) << name;
  EXPECT_EQ(m->forward_with_lengths(x, from_vector<int64_t>({T, T, T}), rng).to_vector<float>(),
            m->forward(x, rng).to_vector<float>())
      << name;
  EXPECT_NE(m->forward(x, rng).to_vector<float>(), got) << name << ": the lengths must matter";
  expect_error(
      [&] {
        m->forward_with_lengths(x, from_vector<int64_t>({T, 0, 4}), rng);
      },
      {name, "length of 0", shape_str(x.shape()).c_str()});
  expect_error(
      [&] {
        m->forward_with_lengths(x, from_vector<int64_t>({T, 2}), rng);
      },
      {name, "lengths", "[2]"});
}

TEST(Models, RecurrentModelsClassifyEachSequenceAtItsLength) {
  models::ModelConfig c;
  c.classes = 3;
  c.features = 4;
  c.hidden = 5;
  c.layers = 2;
  c.channels = 2;
  manual_seed(12);
  expect_lengths_cut_sequences("cnn_lstm", c, randn({3, 6, 2, 8, 8}));
  expect_lengths_cut_sequences("feature_lstm", c, randn({3, 6, 4}));
}

TEST(Models, ModelsWithoutLengthsRefuseShortRows) {
  models::ModelConfig c;
  c.classes = 3;
  c.channels = 1;
  c.height = c.width = 12;
  auto m = models::create_model("sign_cnn", c);
  RngStream rng = dropout_stream(1, 0);
  Tensor x = randn({2, 1, 12, 12});
  EXPECT_EQ(m->forward_with_lengths(x, from_vector<int64_t>({1, 1}), rng).to_vector<float>(),
            m->forward(x, rng).to_vector<float>());
  expect_error(
      [&] {
        m->forward_with_lengths(x, from_vector<int64_t>({1, 0}), rng);
      },
      {"cannot skip padding", "length 0"});
}

}  // namespace
}  // namespace signet
