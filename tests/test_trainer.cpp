// The trainer end to end on tiny data: overfitting, the CSV log, checkpoints, resume, early
// stopping and the NaN stop.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/data/tensor_dataset.h"
#include "engine/optim/adam.h"
#include "engine/trainer.h"
#include "models/registry.h"
#include "tests/support/expect_error.h"

namespace signet {
namespace {

using testing::expect_error;

// 16 separable samples of 8 features in 4 classes.
std::shared_ptr<data::TensorDataset> tiny_set(uint64_t seed) {
  RngStream s = init_stream(seed);
  Tensor x = randn({16, 8}, DType::f32, &s);
  std::vector<int64_t> y(16);
  for (int64_t i = 0; i < 16; ++i) y[i] = i % 4;
  return std::make_shared<data::TensorDataset>(x, from_vector(y));
}

// A fresh mlp 8-32-4 initialised from seed.
std::shared_ptr<models::Model> tiny_model(uint64_t seed) {
  manual_seed(seed);
  models::ModelConfig c;
  c.features = 8;
  c.hidden = 32;
  c.layers = 1;
  c.classes = 4;
  return models::create_model("mlp", c);
}

// A loader over ds with batch 4 and two background threads.
std::unique_ptr<data::Loader> loader(std::shared_ptr<data::TensorDataset> ds, bool shuffle) {
  data::LoaderOptions o;
  o.batch_size = 4;
  o.shuffle = shuffle;
  o.seed = 5;
  o.threads = 2;
  return std::make_unique<data::Loader>(ds, o);
}

// A temporary run folder, removed first.
std::string run_dir(const char* name) {
  std::string d = (std::filesystem::temp_directory_path() / "signet_trainer_test" / name).string();
  std::filesystem::remove_all(d);
  return d;
}

// Every parameter value of a model, in order.
std::vector<float> values(const models::Model& m) {
  std::vector<float> out;
  for (const Tensor& p : m.parameters()) {
    std::vector<float> v = p.to_vector<float>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

// An Adam optimiser over every parameter of m.
std::unique_ptr<optim::Adam> adam(const models::Model& m, double lr) {
  optim::AdamOptions o;
  o.lr = lr;
  return std::make_unique<optim::Adam>(std::vector<optim::ParamGroup>{optim::group_of(m)}, o);
}

TEST(Trainer, OverfitsTinyDataAndWritesTheLog) {
  auto ds = tiny_set(1);
  auto model = tiny_model(2);
  auto opt = adam(*model, 1e-2);
  TrainerOptions o;
  o.epochs = 40;
  o.run_dir = run_dir("overfit");
  Trainer t(*model, *opt, o);
  auto train = loader(ds, true), val = loader(ds, false);
  std::vector<EpochLog> log = t.fit(*train, *val);
  ASSERT_EQ(log.size(), 40u);
  EXPECT_EQ(log.front().epoch, 0);
  EXPECT_LT(log.back().loss, log.front().loss);
  EXPECT_EQ(log.back().val_acc, 1.0);
  EvalResult r = t.evaluate(*val, 4);
  EXPECT_EQ(r.top1, 1.0);
  EXPECT_EQ(r.confusion.shape(), (Shape{4, 4}));
  EXPECT_DOUBLE_EQ(r.macro_f1, 1.0);
  std::ifstream csv(o.run_dir + "/log.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "epoch,acc,loss,val_acc,val_loss,lr,seconds,grad_norm");
  EXPECT_TRUE(std::filesystem::exists(o.run_dir + "/best.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(o.run_dir + "/last.safetensors"));
}

TEST(Trainer, CheckpointRoundTripsBitExactly) {
  auto ds = tiny_set(1);
  auto model = tiny_model(2);
  auto opt = adam(*model, 1e-2);
  TrainerOptions o;
  o.epochs = 2;
  Trainer t(*model, *opt, o);
  auto train = loader(ds, true), val = loader(ds, false);
  t.fit(*train, *val);
  std::string path = run_dir("roundtrip") + ".safetensors";
  t.save_checkpoint(path);
  auto other = tiny_model(99);
  auto other_opt = adam(*other, 1e-2);
  Trainer u(*other, *other_opt, o);
  EXPECT_NE(values(*other), values(*model));
  u.load_checkpoint(path);
  EXPECT_EQ(values(*other), values(*model));
  EXPECT_EQ(u.epoch(), 2);
}

TEST(Trainer, ResumeEqualsAnUninterruptedRun) {
  auto ds = tiny_set(3);
  TrainerOptions o;
  o.epochs = 4;
  o.seed = 8;
  auto straight = tiny_model(4);
  auto straight_opt = adam(*straight, 5e-3);
  {
    Trainer t(*straight, *straight_opt, o);
    auto train = loader(ds, true), val = loader(ds, false);
    t.fit(*train, *val);
  }
  std::string path = run_dir("resume") + ".safetensors";
  {
    auto first = tiny_model(4);
    auto first_opt = adam(*first, 5e-3);
    TrainerOptions half = o;
    half.epochs = 2;
    Trainer t(*first, *first_opt, half);
    auto train = loader(ds, true), val = loader(ds, false);
    t.fit(*train, *val);
    t.save_checkpoint(path);
  }
  auto resumed = tiny_model(77);
  auto resumed_opt = adam(*resumed, 5e-3);
  Trainer t(*resumed, *resumed_opt, o);
  t.load_checkpoint(path);
  auto train = loader(ds, true), val = loader(ds, false);
  t.fit(*train, *val);
  EXPECT_EQ(values(*resumed), values(*straight));
}

TEST(Trainer, EarlyStoppingAfterPatienceEpochs) {
  auto ds = tiny_set(1);
  auto model = tiny_model(2);
  auto opt = adam(*model, 0.0);  // nothing changes: val_loss never improves after epoch 0
  TrainerOptions o;
  o.epochs = 10;
  o.patience = 2;
  Trainer t(*model, *opt, o);
  auto train = loader(ds, true), val = loader(ds, false);
  EXPECT_EQ(t.fit(*train, *val).size(), 3u);
}

TEST(Trainer, NonFiniteLossStopsNamingEpochAndBatch) {
  Tensor x = zeros({8, 8});
  x.narrow(0, 4, 1).fill_(std::nan(""));
  auto ds =
      std::make_shared<data::TensorDataset>(x, from_vector<int64_t>({0, 1, 2, 3, 0, 1, 2, 3}));
  auto model = tiny_model(2);
  auto opt = adam(*model, 1e-2);
  TrainerOptions o;
  o.epochs = 1;
  Trainer t(*model, *opt, o);
  auto train = loader(ds, false), val = loader(ds, false);
  expect_error([&] { t.fit(*train, *val); }, {"nan", "epoch 0 batch 1"});
}

}  // namespace
}  // namespace signet
