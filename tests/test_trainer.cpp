// The trainer end to end on tiny data: overfitting, the CSV log, checkpoints, resume (also with
// a plateau schedule), early stopping, the NaN stop and truncated BPTT.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/data/tensor_dataset.h"
#include "engine/nn/linear.h"
#include "engine/ops/reduce.h"
#include "engine/optim/adam.h"
#include "engine/optim/lr_scheduler.h"
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

// 16 sequences of 6 steps of 4 features in 4 classes: class c makes feature c large.
std::shared_ptr<data::TensorDataset> tiny_sequences(uint64_t seed) {
  RngStream s = init_stream(seed);
  Tensor x = randn({16, 6, 4}, DType::f32, &s);
  std::vector<float> v = x.to_vector<float>();
  std::vector<int64_t> y(16);
  for (int64_t i = 0; i < 16; ++i) {
    y[i] = i % 4;
    for (int64_t t = 0; t < 6; ++t) {
      float& a = v[static_cast<size_t>((i * 6 + t) * 4 + y[i])];
      a = std::abs(a) + 1.0f;
    }
  }
  return std::make_shared<data::TensorDataset>(from_vector(v, {16, 6, 4}), from_vector(y));
}

// A fresh feature_lstm 4 -> 8 x 1 layer -> 4 classes with input dropout, from seed.
std::shared_ptr<models::Model> tiny_lstm(uint64_t seed) {
  manual_seed(seed);
  models::ModelConfig c;
  c.features = 4;
  c.hidden = 8;
  c.layers = 1;
  c.classes = 4;
  c.dropout = 0.2;
  return models::create_model("feature_lstm", c);
}

// The parameters of feature_lstm after `epochs` epochs with truncated BPTT (tbptt 0: off).
std::vector<float> lstm_after(int64_t epochs, int64_t tbptt, bool per_chunk,
                              int64_t* steps = nullptr) {
  auto ds = tiny_sequences(1);
  auto model = tiny_lstm(2);
  auto opt = adam(*model, 1e-2);
  TrainerOptions o;
  o.epochs = epochs;
  o.seed = 3;
  o.tbptt = tbptt;
  o.tbptt_step_per_chunk = per_chunk;
  Trainer t(*model, *opt, o);
  auto train = loader(ds, true), val = loader(ds, false);
  t.fit(*train, *val);
  if (steps) *steps = opt->state("fc.weight")->step;
  return values(*model);
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

TEST(Trainer, CheckpointHoldsBatchNormStatistics) {
  models::ModelConfig c;
  c.classes = 3;
  c.height = c.width = 12;
  c.batch_norm = true;
  manual_seed(1);
  auto model = models::create_model("sign_cnn", c);
  RngStream rng = dropout_stream(0, 0);
  model->forward(randn({4, 1, 12, 12}), rng);  // training mode: the running statistics move
  auto opt = adam(*model, 1e-3);
  TrainerOptions o;
  Trainer t(*model, *opt, o);
  std::string path = run_dir("batch_norm") + ".safetensors";
  t.save_checkpoint(path);
  manual_seed(2);
  auto other = models::create_model("sign_cnn", c);
  auto other_opt = adam(*other, 1e-3);
  Trainer u(*other, *other_opt, o);
  u.load_checkpoint(path);
  std::vector<std::pair<std::string, Tensor>> want = model->state_dict(), got = other->state_dict();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    Tensor a = want[i].second.to(DType::f64), b = got[i].second.to(DType::f64);
    EXPECT_EQ(b.to_vector<double>(), a.to_vector<double>()) << want[i].first;
  }
  EXPECT_EQ(other->named_buffers().back().second.item(), 1.0);  // bn2.num_batches_tracked
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

TEST(Trainer, TbpttOfTheWholeSequenceEqualsFullBackprop) {
  int64_t full_steps = 0, chunk_steps = 0, seq_steps = 0;
  std::vector<float> full = lstm_after(2, 0, true, &full_steps);
  EXPECT_EQ(lstm_after(2, 6, true, &chunk_steps), full);
  EXPECT_EQ(lstm_after(2, 9, false, &seq_steps), full);
  EXPECT_EQ(full_steps, 8);  // 2 epochs x 4 batches
  EXPECT_EQ(chunk_steps, 8);
  EXPECT_EQ(seq_steps, 8);
}

TEST(Trainer, TbpttInShortChunksStepsPerChunkAndTrains) {
  int64_t chunk_steps = 0, seq_steps = 0;
  std::vector<float> full = lstm_after(2, 0, true);
  std::vector<float> chunked = lstm_after(2, 4, true, &chunk_steps);  // chunks of 4 and 2 steps
  std::vector<float> per_sequence = lstm_after(2, 2, false, &seq_steps);
  EXPECT_EQ(chunk_steps, 16);  // 2 epochs x 4 batches x 2 chunks
  EXPECT_EQ(seq_steps, 8);     // one step per batch
  EXPECT_NE(chunked, full);
  EXPECT_NE(per_sequence, full);
  EXPECT_NE(per_sequence, chunked);
  auto ds = tiny_sequences(1);
  auto model = tiny_lstm(2);
  auto opt = adam(*model, 2e-2);
  TrainerOptions o;
  o.epochs = 20;
  o.tbptt = 2;
  Trainer t(*model, *opt, o);
  auto train = loader(ds, true), val = loader(ds, false);
  std::vector<EpochLog> log = t.fit(*train, *val);
  EXPECT_LT(log.back().loss, 0.5 * log.front().loss);
  EXPECT_EQ(log.back().val_acc, 1.0);
}

TEST(Trainer, TbpttNeedsARecurrentModel) {
  auto ds = tiny_set(1);
  auto model = tiny_model(2);
  auto opt = adam(*model, 1e-2);
  TrainerOptions o;
  o.epochs = 1;
  o.tbptt = 2;
  Trainer t(*model, *opt, o);
  auto train = loader(ds, true), val = loader(ds, false);
  expect_error([&] { t.fit(*train, *val); }, {"tbptt", "recurrent"});
}

// The parameters, lr and plateau state after a run of `epochs`, optionally resumed from a
// checkpoint written after `split` epochs.
struct PlateauRun {
  std::vector<float> values;
  double lr = 0, best = 0;
  int64_t bad = 0;
};
PlateauRun plateau_run(int64_t epochs, int64_t split) {
  auto ds = tiny_set(3);
  PlateauRun out;
  optim::PlateauOptions po;
  po.patience = 0;
  po.factor = 0.5;
  po.threshold = 0.3;  // only a 30% drop of val_loss counts: the lr is cut most epochs
  std::string path = run_dir("plateau") + ".safetensors";
  TrainerOptions o;
  o.epochs = epochs;
  o.seed = 8;
  if (split > 0) {
    auto first = tiny_model(4);
    auto first_opt = adam(*first, 5e-3);
    optim::ReduceLrOnPlateau plateau(*first_opt, po);
    TrainerOptions half = o;
    half.epochs = split;
    half.plateau = &plateau;
    Trainer t(*first, *first_opt, half);
    auto train = loader(ds, true), val = loader(ds, false);
    t.fit(*train, *val);
    t.save_checkpoint(path);
  }
  auto model = tiny_model(split > 0 ? 77 : 4);
  auto opt = adam(*model, 5e-3);
  optim::ReduceLrOnPlateau plateau(*opt, po);
  o.plateau = &plateau;
  Trainer t(*model, *opt, o);
  if (split > 0) t.load_checkpoint(path);
  auto train = loader(ds, true), val = loader(ds, false);
  t.fit(*train, *val);
  return {values(*model), opt->groups()[0].lr, plateau.best(), plateau.num_bad_epochs()};
}

TEST(Trainer, ResumeWithAPlateauScheduleEqualsAnUninterruptedRun) {
  PlateauRun straight = plateau_run(6, 0), resumed = plateau_run(6, 3);
  EXPECT_LT(straight.lr, 5e-3 * 0.5 * 0.5);  // the schedule acted more than once
  EXPECT_EQ(resumed.values, straight.values);
  EXPECT_EQ(resumed.lr, straight.lr);
  EXPECT_EQ(resumed.best, straight.best);
  EXPECT_EQ(resumed.bad, straight.bad);
}

TEST(Trainer, WithoutValidationTrainsAndKeepsOnlyTheLastCheckpoint) {
  auto ds = tiny_set(1);
  auto model = tiny_model(2);
  auto opt = adam(*model, 1e-2);
  TrainerOptions o;
  o.epochs = 3;
  o.run_dir = run_dir("no_val");
  Trainer t(*model, *opt, o);
  auto train = loader(ds, true);
  std::vector<EpochLog> log = t.fit(*train);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_TRUE(std::isnan(log.back().val_loss) && std::isnan(log.back().val_acc));
  EXPECT_LT(log.back().loss, log.front().loss);
  EXPECT_TRUE(std::filesystem::exists(o.run_dir + "/last.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(o.run_dir + "/best.safetensors"));
  o.patience = 2;
  Trainer watching(*model, *opt, o);
  expect_error([&] { watching.fit(*train); }, {"patience 2", "validation split"});
}

// 16 sequences of tiny_sequences, sample i padded after its first 3 + i % 4 of 6 steps.
class PaddedSequences : public data::Dataset {
 public:
  int64_t size() const override { return base_->size(); }
  data::Sample get(int64_t i) const override {
    data::Sample s = base_->get(i);
    s.length = 3 + i % 4;
    return s;
  }

 private:
  std::shared_ptr<data::TensorDataset> base_ = tiny_sequences(1);
};

// A linear head on the mean step that records the lengths each batch brings.
class LengthRecorder : public nn::Classifier {
 public:
  LengthRecorder() { fc_ = register_module("fc", std::make_shared<nn::Linear>(4, 4)); }
  Tensor forward(const Tensor& x, RngStream&) override { return fc_->forward(mean(x, {1})); }
  Tensor forward_with_lengths(const Tensor& x, const Tensor& lengths, RngStream& rng) override {
    seen.push_back(lengths.defined() ? lengths.to_vector<int64_t>() : std::vector<int64_t>{});
    return forward(x, rng);
  }
  std::vector<std::vector<int64_t>> seen;

 private:
  std::shared_ptr<nn::Linear> fc_;
};

TEST(Trainer, PassesEachSamplesLengthToTheModel) {
  auto ds = std::make_shared<PaddedSequences>();
  data::LoaderOptions lo;
  lo.batch_size = 4;
  lo.shuffle = false;
  data::Loader train(ds, lo), val(ds, lo);
  LengthRecorder model;
  optim::Adam opt({optim::group_of(model)}, {});
  TrainerOptions o;
  o.epochs = 1;
  Trainer t(model, opt, o);
  t.fit(train, val);
  ASSERT_EQ(model.seen.size(), 8u);  // 4 training batches, then 4 validation batches
  for (const std::vector<int64_t>& lengths : model.seen)
    EXPECT_EQ(lengths, (std::vector<int64_t>{3, 4, 5, 6}));
  auto lstm = tiny_lstm(2);  // takes lengths
  optim::Adam lstm_opt({optim::group_of(*lstm)}, {});
  EXPECT_EQ(Trainer(*lstm, lstm_opt, o).fit(train, val).size(), 1u);
  auto mlp = tiny_model(2);  // reads whole inputs: refuses padded ones
  optim::Adam mlp_opt({optim::group_of(*mlp)}, {});
  Trainer refusing(*mlp, mlp_opt, o);
  expect_error([&] { refusing.fit(train, val); }, {"cannot skip padding", "length 3"});
}

TEST(TensorDataset, ServesOptionalLengthsAndChecksThem) {
  const Tensor x = empty({3, 5, 2}, DType::f32).fill_(1.0);
  const Tensor y = from_vector(std::vector<int64_t>{0, 1, 0});
  EXPECT_EQ(data::TensorDataset(x, y).get(1).length, -1);
  const data::TensorDataset padded(x, y, from_vector(std::vector<int64_t>{5, 2, -1}));
  EXPECT_EQ(padded.get(0).length, 5);
  EXPECT_EQ(padded.get(1).length, 2);
  EXPECT_EQ(padded.get(2).length, -1);
  expect_error(
      [&] {
        data::TensorDataset(x, y, from_vector(std::vector<int64_t>{5, 6, 1}));
      },
      {"a length of 6", "[3, 5, 2]"});
  expect_error(
      [&] {
        data::TensorDataset(x, y, from_vector(std::vector<int64_t>{5, 2}));
      },
      {"lengths must be i64 (3)"});
}

}  // namespace
}  // namespace signet
