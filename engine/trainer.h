// The trainer: epochs of mini-batch training with validation, a Keras-style CSV log, best and
// last checkpoints (safetensors, temporary file + rename), early stopping, gradient clipping,
// truncated BPTT for recurrent models, epoch schedules whose state is checkpointed, resume, and
// a stop with a message on a NaN or infinite loss. The test split is evaluated only
// by evaluate(), never used for selection.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/data/loader.h"
#include "engine/nn/classifier.h"
#include "engine/ops/loss.h"
#include "engine/optim/optimizer.h"

namespace signet {

namespace optim {
class LrScheduler;
class ReduceLrOnPlateau;
}  // namespace optim

// Where training is, for progress display.
struct TrainProgress {
  int64_t epoch = 0, epochs = 0;
  int64_t batch = 0, batches = 0;  // batches done in this epoch, and per epoch
  int64_t samples = 0;             // samples done in this epoch
  double seconds = 0;              // since the epoch began
  double loss = 0;                 // running mean over the epoch
};

// One row of the CSV log.
struct EpochLog {
  int64_t epoch = 0;
  double acc = 0, loss = 0, val_acc = 0, val_loss = 0, lr = 0, seconds = 0, grad_norm = 0;
};

struct TrainerOptions {
  int64_t epochs = 10;
  uint64_t seed = 0;      // dropout masks use dropout_stream(seed, global step)
  double clip_norm = 0;   // > 0: clip the global L2 gradient norm (unfrozen groups) to this
  int64_t patience = 0;   // > 0: stop after this many epochs without a better val_loss
  std::string run_dir;    // "": no files; else log.csv, best.safetensors, last.safetensors
  ClassLossOptions loss;  // class weights, label smoothing, ignore_index
  // > 0: truncated BPTT in chunks of this many time steps (the model must be an
  // nn::RecurrentClassifier); each chunk's logits get the sequence's label; the state is carried
  // detached. tbptt_step_per_chunk: an optimiser step after every chunk; otherwise the chunks'
  // mean loss is accumulated and one step taken per sequence.
  int64_t tbptt = 0;
  bool tbptt_step_per_chunk = true;
  Device device = Device::cpu();  // batches are moved here; the model must already be there
  // Stepped after every epoch (the plateau one on val_loss), before the checkpoints are written;
  // their state is saved in the checkpoints and restored by load_checkpoint(). Not owned.
  optim::LrScheduler* schedule = nullptr;
  optim::ReduceLrOnPlateau* plateau = nullptr;
  // Called after every training batch (the command line draws its progress bar from it).
  std::function<void(const TrainProgress&)> on_progress;
  // Called after each epoch with its log row (after the schedules stepped and the checkpoints).
  std::function<void(const EpochLog&)> on_epoch_end;
};

// What one pass over a split measured.
struct EvalResult {
  double loss = 0;
  double top1 = 0, top5 = 0, top10 = 0;
  int64_t samples = 0;
  Tensor confusion;  // (C, C) i64, rows are labels
  double macro_f1 = 0;
};

class Trainer {
 public:
  Trainer(nn::Classifier& model, optim::Optimizer& optimizer, TrainerOptions options);
  // Trains from the current epoch to options.epochs; returns the log of the epochs run.
  std::vector<EpochLog> fit(data::Loader& train, data::Loader& val);
  // Trains without validation (all training data used, as PyTorch scripts without a held-out
  // part do): val_acc and val_loss are logged as NaN, no best checkpoint is written, and
  // patience and the plateau schedule, which need val_loss, are refused.
  std::vector<EpochLog> fit(data::Loader& train);
  // Loss, top-k accuracies, confusion matrix and macro-F1 of the model on a split (eval mode).
  EvalResult evaluate(data::Loader& loader, int64_t num_classes);
  // Writes parameters, buffers, optimiser and schedule state and progress to path (temporary
  // file + rename).
  void save_checkpoint(const std::string& path) const;
  // Restores a save_checkpoint() file; fit() then continues after its epoch.
  void load_checkpoint(const std::string& path);
  int64_t epoch() const { return epoch_; }

 private:
  // Sums of one epoch's training batches.
  struct EpochSums {
    double loss = 0, norm = 0;
    int64_t seen = 0, hits = 0, batches = 0, steps = 0, classes = 0;
  };
  // Clips the gradients, takes an optimiser step and returns the norm before clipping.
  double step_optimizer(const std::vector<Tensor>& params);
  // Trains on one batch, the whole sequence at once.
  void train_batch(const data::Batch& b, const std::vector<Tensor>& params, EpochSums& sums);
  // The epoch loop of both fit()s (val null: no validation).
  std::vector<EpochLog> fit_epochs(data::Loader& train, data::Loader* val);
  // Trains on one batch in truncated-BPTT chunks.
  void train_batch_tbptt(const data::Batch& b, const std::vector<Tensor>& params, EpochSums& sums);

  nn::Classifier& model_;
  optim::Optimizer& optimizer_;
  TrainerOptions opt_;
  int64_t epoch_ = 0;  // the next epoch to run
  int64_t step_ = 0;   // optimiser steps taken
  double best_val_loss_ = 0;
  int64_t epochs_without_improvement_ = 0;
};

}  // namespace signet
