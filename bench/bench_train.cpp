// One training step of the issue-8 target models, end to end through the engine (forward,
// cross-entropy, backward, Adam at 1e-3), on a random batch of 64 digits-sized samples:
//   train/sign_cnn/step/signet/tN           sign_cnn on (64, 1, 28, 28), 10 classes, dropout 0.5
//                                           (the `signet demo --data mnist` model)
//   train/feature_lstm_2x256/step/signet/tN feature_lstm, 2 layers of 256, on the same images read
//                                           as 28 steps of 28 features, 10 classes
// Counters:
//   samples_per_s = 64 / step time.
//   epoch_s       = 7996 / samples_per_s: the training-loop seconds of one epoch of the mnist
//                   split's 7,996 images at that rate (loader and validation not counted).
//   GFLOP/s       = 3 x forward FLOPs per sample x 64 / step time; forward FLOPs are
//                   models::summarize's (2 x multiply-adds of conv, linear and LSTM layers) and
//                   the backward is counted as twice the forward; peak_frac against the FMA peak.
// The peer is PyTorch, which is not linked here: bench/torch_baselines.py times the same models
// per epoch on the real split with 2 threads (compare its s/epoch with epoch_s of t2).
#include <string>

#include "bench/harness.h"
#include "engine/ops.h"
#include "engine/optim/adam.h"
#include "models/registry.h"
#include "models/summary.h"

namespace {

using signet::Tensor;

constexpr int64_t kBatch = 64, kClasses = 10;
constexpr double kEpochImages = 7996;

// The model config of a case: sign_cnn, or feature_lstm of 2 x 256 over 28 x 28 images.
signet::models::ModelConfig config_of(const std::string& model) {
  signet::models::ModelConfig c;
  c.classes = kClasses;
  c.channels = 1;
  c.height = c.width = 28;
  if (model == "sign_cnn") {
    c.dropout = 0.5;
  } else {
    c.features = 28;
    c.hidden = 256;
    c.layers = 2;
  }
  return c;
}

// Forward FLOPs per sample of the case's model on (1, 28, 28) images.
double forward_flops(const std::string& model) {
  signet::manual_seed(1);
  auto m = signet::models::create_model(model, config_of(model));
  return signet::models::summarize(*m, {kBatch, 1, 28, 28}).flops;
}

// One optimiser step per iteration on a fixed random batch.
void bm_step(benchmark::State& state, const std::string& model, int threads) {
  signet::bench::set_omp_threads(threads);
  signet::manual_seed(7);
  auto m = signet::models::create_model(model, config_of(model));
  signet::optim::AdamOptions ao;
  ao.lr = 1e-3;
  signet::optim::Adam adam({signet::optim::group_of(*m)}, ao);
  signet::RngStream data = signet::init_stream(11);
  Tensor x = signet::rand({kBatch, 1, 28, 28}, signet::DType::f32, &data);
  std::vector<int64_t> labels(kBatch);
  for (int64_t i = 0; i < kBatch; ++i) labels[static_cast<size_t>(i)] = (i * 7) % kClasses;
  Tensor y = signet::from_vector(labels);
  uint64_t step = 0;
  for (auto _ : state) {
    signet::RngStream rng = signet::dropout_stream(3, step++);
    adam.zero_grad();
    signet::cross_entropy(m->forward(x, rng), y).backward();
    adam.step();
  }
  state.counters["samples_per_s"] =
      benchmark::Counter(kBatch, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["epoch_s"] =
      benchmark::Counter(kBatch / kEpochImages, benchmark::Counter::kIsIterationInvariantRate |
                                                    benchmark::Counter::kInvert);
  static const double cnn = forward_flops("sign_cnn"), lstm = forward_flops("feature_lstm");
  signet::bench::set_flop_counters(state, 3.0 * (model == "sign_cnn" ? cnn : lstm) * kBatch,
                                   threads);
}

// Registers the cases at every thread count of the harness.
void register_train_cases() {
  for (int t : signet::bench::thread_counts()) {
    signet::bench::configure(benchmark::RegisterBenchmark(
        signet::bench::case_name("train", "sign_cnn", "step", "signet", t).c_str(),
        [t](benchmark::State& s) { bm_step(s, "sign_cnn", t); }));
    signet::bench::configure(benchmark::RegisterBenchmark(
        signet::bench::case_name("train", "feature_lstm_2x256", "step", "signet", t).c_str(),
        [t](benchmark::State& s) { bm_step(s, "feature_lstm", t); }));
  }
}

}  // namespace

int main(int argc, char** argv) {
  return signet::bench::run_main(argc, argv, register_train_cases);
}
