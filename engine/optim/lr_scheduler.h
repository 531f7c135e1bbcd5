// Learning-rate schedules over an optimiser's groups, as torch.optim.lr_scheduler (1.13).
// Construction is epoch 0 (sets each group's lr as PyTorch's constructors do); each step()
// advances one epoch. Step, multi-step and exponential use PyTorch's chainable (recursive)
// forms in the same floating-point order, so their sequences equal PyTorch's bit for bit.
// The base lr of a group is its lr when the schedule is built; the optimiser must outlive the
// schedule. To resume: build the schedule, then load the optimiser's state_dict, then the
// schedule's (building it sets the epoch-0 lrs).
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "engine/optim/optimizer.h"

namespace signet::optim {

class LrScheduler {
 public:
  virtual ~LrScheduler() = default;
  LrScheduler(const LrScheduler&) = delete;
  LrScheduler& operator=(const LrScheduler&) = delete;
  // Advances one epoch and sets every group's lr.
  void step();
  int64_t last_epoch() const { return last_epoch_; }
  // Every group's lr now.
  std::vector<double> last_lr() const;
  // "last_epoch" (i64 0-d) and "base_lrs" (f64, one per group); the lrs themselves live in the
  // optimiser's state_dict.
  std::map<std::string, Tensor> state_dict() const;
  // Restores a state_dict() of a schedule over as many groups.
  void load_state_dict(const std::map<std::string, Tensor>& sd);

 protected:
  // Records the base lrs; the derived constructor ends with step() (epoch 0).
  explicit LrScheduler(Optimizer& optimizer);
  // Group i's lr at last_epoch() from its current lr and base lr.
  virtual double lr_at(double current, double base) const = 0;

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
};

// StepLR: lr *= gamma every step_size epochs.
class StepLr : public LrScheduler {
 public:
  StepLr(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  double lr_at(double current, double base) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// MultiStepLR: lr *= gamma^k at an epoch listed k times in milestones.
class MultiStepLr : public LrScheduler {
 public:
  MultiStepLr(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);

 protected:
  double lr_at(double current, double base) const override;

 private:
  std::vector<int64_t> milestones_;
  double gamma_;
};

// ExponentialLR: lr *= gamma every epoch.
class ExponentialLr : public LrScheduler {
 public:
  ExponentialLr(Optimizer& optimizer, double gamma);

 protected:
  double lr_at(double current, double base) const override;

 private:
  double gamma_;
};

// Cosine with linear warm-up, in closed form (PyTorch has no single built-in for it):
//   e < warmup:            base * (start_factor + (1 - start_factor) * e / warmup)
//   warmup <= e <= total:  eta_min + (base - eta_min) * (1 + cos(pi * (e - warmup) /
//                          (total - warmup))) / 2
//   e > total:             eta_min (PyTorch's cosine would rise again)
// Up to `total` it equals, to rounding (1e-12 relative), PyTorch's
//   SequentialLR([LinearLR(start_factor, 1.0, total_iters=warmup),
//                 CosineAnnealingLR(T_max=total - warmup, eta_min)], milestones=[warmup]).
class CosineWarmupLr : public LrScheduler {
 public:
  CosineWarmupLr(Optimizer& optimizer, int64_t warmup, int64_t total, double start_factor = 0.0,
                 double eta_min = 0.0);

 protected:
  double lr_at(double current, double base) const override;

 private:
  int64_t warmup_, total_;
  double start_factor_, eta_min_;
};

// ReduceLROnPlateau's options, PyTorch's defaults.
struct PlateauOptions {
  enum class Mode { min, max };
  enum class Threshold { rel, abs };
  Mode mode = Mode::min;
  double factor = 0.1;
  int64_t patience = 10;
  double threshold = 1e-4;
  Threshold threshold_mode = Threshold::rel;
  int64_t cooldown = 0;
  double min_lr = 0;
  double eps = 1e-8;  // a reduction smaller than this is skipped
};

// ReduceLROnPlateau: lr = max(lr * factor, min_lr) after more than `patience` epochs without
// improvement, then `cooldown` epochs in which bad epochs are not counted. Improvement, with
// best the best value so far: min/rel a < best * (1 - threshold); min/abs a < best - threshold;
// max/rel a > best * (1 + threshold); max/abs a > best + threshold.
class ReduceLrOnPlateau {
 public:
  ReduceLrOnPlateau(Optimizer& optimizer, const PlateauOptions& options = {});
  // Takes the epoch's metric and reduces the lrs when it has stopped improving.
  void step(double metric);
  int64_t last_epoch() const { return last_epoch_; }
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  // Every group's lr now.
  std::vector<double> last_lr() const;
  // "last_epoch", "best", "num_bad_epochs" and "cooldown_counter" as 0-d tensors.
  std::map<std::string, Tensor> state_dict() const;
  // Restores a state_dict() (the options are the constructor's).
  void load_state_dict(const std::map<std::string, Tensor>& sd);

 private:
  // True when a improves on best under the mode and threshold.
  bool is_better(double a, double best) const;

  Optimizer& optimizer_;
  PlateauOptions options_;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
  int64_t last_epoch_ = 0;
};

}  // namespace signet::optim
