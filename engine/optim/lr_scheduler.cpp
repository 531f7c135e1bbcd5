#include "engine/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>

namespace signet::optim {

constexpr double kPi = 3.141592653589793238462643383279502884;

LrScheduler::LrScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (const Group& g : optimizer.groups()) base_lrs_.push_back(g.lr);
}

void LrScheduler::step() {
  ++last_epoch_;
  std::vector<Group>& groups = optimizer_.groups();
  SIGNET_CHECK(groups.size() == base_lrs_.size(), "LrScheduler: the optimiser has ", groups.size(),
               " groups but the schedule was built for ", base_lrs_.size());
  for (size_t i = 0; i < groups.size(); ++i) groups[i].lr = lr_at(groups[i].lr, base_lrs_[i]);
}

std::vector<double> LrScheduler::last_lr() const {
  std::vector<double> out;
  for (const Group& g : optimizer_.groups()) out.push_back(g.lr);
  return out;
}

std::map<std::string, Tensor> LrScheduler::state_dict() const {
  return {{"last_epoch", full({}, static_cast<double>(last_epoch_), DType::i64)},
          {"base_lrs", from_vector<double>(base_lrs_)}};
}

void LrScheduler::load_state_dict(const std::map<std::string, Tensor>& sd) {
  SIGNET_CHECK(sd.size() == 2 && sd.count("last_epoch") && sd.count("base_lrs"),
               "LrScheduler.load_state_dict: expects exactly 'last_epoch' and 'base_lrs'");
  const Tensor& base = sd.at("base_lrs");
  SIGNET_CHECK(base.dim() == 1 && base.size(0) == static_cast<int64_t>(base_lrs_.size()),
               "LrScheduler.load_state_dict: base_lrs has shape ", shape_str(base.shape()),
               " but the schedule has ", base_lrs_.size(), " groups");
  last_epoch_ = static_cast<int64_t>(sd.at("last_epoch").item());
  base_lrs_ = base.to(DType::f64).contiguous().to_vector<double>();
}

StepLr::StepLr(Optimizer& optimizer, int64_t step_size, double gamma)
    : LrScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  SIGNET_CHECK(step_size > 0, "StepLR: step_size must be > 0, got ", step_size);
  step();
}

double StepLr::lr_at(double current, double) const {
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return current;
  return current * gamma_;
}

MultiStepLr::MultiStepLr(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LrScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  step();
}

double MultiStepLr::lr_at(double current, double) const {
  const auto k = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  if (k == 0) return current;
  return current * std::pow(gamma_, static_cast<double>(k));
}

ExponentialLr::ExponentialLr(Optimizer& optimizer, double gamma)
    : LrScheduler(optimizer), gamma_(gamma) {
  step();
}

double ExponentialLr::lr_at(double current, double) const {
  return last_epoch_ == 0 ? current : current * gamma_;
}

CosineWarmupLr::CosineWarmupLr(Optimizer& optimizer, int64_t warmup, int64_t total,
                               double start_factor, double eta_min)
    : LrScheduler(optimizer),
      warmup_(warmup),
      total_(total),
      start_factor_(start_factor),
      eta_min_(eta_min) {
  SIGNET_CHECK(warmup >= 0 && total > warmup, "CosineWarmupLR: needs 0 <= warmup < total, got ",
               "warmup ", warmup, ", total ", total);
  SIGNET_CHECK(start_factor >= 0 && start_factor <= 1,
               "CosineWarmupLR: start_factor must be in [0, 1], got ", start_factor);
  step();
}

double CosineWarmupLr::lr_at(double, double base) const {
  const double e = static_cast<double>(last_epoch_);
  if (last_epoch_ < warmup_)
    return base * (start_factor_ + (1 - start_factor_) * e / static_cast<double>(warmup_));
  if (last_epoch_ > total_) return eta_min_;
  const double t = (e - static_cast<double>(warmup_)) / static_cast<double>(total_ - warmup_);
  return eta_min_ + (base - eta_min_) * (1 + std::cos(kPi * t)) / 2;
}

ReduceLrOnPlateau::ReduceLrOnPlateau(Optimizer& optimizer, const PlateauOptions& options)
    : optimizer_(optimizer), options_(options) {
  SIGNET_CHECK(options.factor < 1.0, "ReduceLROnPlateau: factor must be < 1, got ", options.factor);
  SIGNET_CHECK(options.patience >= 0 && options.cooldown >= 0,
               "ReduceLROnPlateau: patience and cooldown must be >= 0, got ", options.patience,
               " and ", options.cooldown);
  best_ = options.mode == PlateauOptions::Mode::min ? std::numeric_limits<double>::infinity()
                                                    : -std::numeric_limits<double>::infinity();
}

bool ReduceLrOnPlateau::is_better(double a, double best) const {
  const bool rel = options_.threshold_mode == PlateauOptions::Threshold::rel;
  if (options_.mode == PlateauOptions::Mode::min)
    return rel ? a < best * (1. - options_.threshold) : a < best - options_.threshold;
  return rel ? a > best * (options_.threshold + 1.) : a > best + options_.threshold;
}

void ReduceLrOnPlateau::step(double metric) {
  ++last_epoch_;
  if (is_better(metric, best_)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > options_.patience) {
    for (Group& g : optimizer_.groups()) {
      const double new_lr = std::max(g.lr * options_.factor, options_.min_lr);
      if (g.lr - new_lr > options_.eps) g.lr = new_lr;
    }
    cooldown_counter_ = options_.cooldown;
    num_bad_epochs_ = 0;
  }
}

std::vector<double> ReduceLrOnPlateau::last_lr() const {
  std::vector<double> out;
  for (const Group& g : optimizer_.groups()) out.push_back(g.lr);
  return out;
}

std::map<std::string, Tensor> ReduceLrOnPlateau::state_dict() const {
  return {{"last_epoch", full({}, static_cast<double>(last_epoch_), DType::i64)},
          {"best", scalar_tensor(best_, DType::f64)},
          {"num_bad_epochs", full({}, static_cast<double>(num_bad_epochs_), DType::i64)},
          {"cooldown_counter", full({}, static_cast<double>(cooldown_counter_), DType::i64)}};
}

void ReduceLrOnPlateau::load_state_dict(const std::map<std::string, Tensor>& sd) {
  for (const char* key : {"last_epoch", "best", "num_bad_epochs", "cooldown_counter"})
    SIGNET_CHECK(sd.count(key), "ReduceLROnPlateau.load_state_dict: missing '", key, "'");
  SIGNET_CHECK(sd.size() == 4, "ReduceLROnPlateau.load_state_dict: expects 4 keys, got ",
               sd.size());
  last_epoch_ = static_cast<int64_t>(sd.at("last_epoch").item());
  best_ = sd.at("best").item();
  num_bad_epochs_ = static_cast<int64_t>(sd.at("num_bad_epochs").item());
  cooldown_counter_ = static_cast<int64_t>(sd.at("cooldown_counter").item());
}

}  // namespace signet::optim
