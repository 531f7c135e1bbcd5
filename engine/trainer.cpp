#include "engine/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "engine/metrics.h"
#include "engine/ops/join.h"
#include "engine/ops/reduce.h"
#include "engine/optim/clip_grad.h"

namespace signet {
namespace {

using Clock = std::chrono::steady_clock;

// Seconds since t0.
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Rows of logits whose argmax equals the label.
int64_t correct(const Tensor& logits, const Tensor& labels) {
  std::vector<int64_t> p = argmax(logits.detach(), 1).to_vector<int64_t>();
  std::vector<int64_t> y = labels.to_vector<int64_t>();
  int64_t hits = 0;
  for (size_t i = 0; i < y.size(); ++i) hits += p[i] == y[i];
  return hits;
}

// Appends one row to the CSV log, writing the header first when the file is new.
void append_log(const std::string& path, const EpochLog& r) {
  bool fresh = !std::filesystem::exists(path);
  std::ofstream f(path, std::ios::app);
  SIGNET_CHECK(f, "trainer: cannot write the log ", path);
  if (fresh) f << "epoch,acc,loss,val_acc,val_loss,lr,seconds,grad_norm\n";
  f << r.epoch << ',' << r.acc << ',' << r.loss << ',' << r.val_acc << ',' << r.val_loss << ','
    << r.lr << ',' << r.seconds << ',' << r.grad_norm << '\n';
}

const char* const kState = "__trainer__.";
const char* const kOptim = "__optimizer__.";

}  // namespace

Trainer::Trainer(nn::Classifier& model, optim::Optimizer& optimizer, TrainerOptions options)
    : model_(model),
      optimizer_(optimizer),
      opt_(std::move(options)),
      best_val_loss_(std::numeric_limits<double>::infinity()) {
  SIGNET_CHECK(opt_.epochs >= 0 && opt_.patience >= 0 && opt_.clip_norm >= 0,
               "trainer: epochs, patience and clip_norm must be non-negative");
}

std::vector<EpochLog> Trainer::fit(data::Loader& train, data::Loader& val) {
  if (!opt_.run_dir.empty()) std::filesystem::create_directories(opt_.run_dir);
  std::vector<Tensor> params = model_.parameters();
  std::vector<EpochLog> logs;
  while (epoch_ < opt_.epochs) {
    Clock::time_point t0 = Clock::now();
    model_.train(true);
    train.start_epoch(static_cast<uint64_t>(epoch_));
    double loss_sum = 0, norm_sum = 0;
    int64_t seen = 0, hits = 0, batches = 0;
    int64_t num_classes = 0;
    data::Batch b;
    while (train.next(b)) {
      RngStream rng = dropout_stream(opt_.seed, static_cast<uint64_t>(step_));
      optimizer_.zero_grad();
      Tensor logits = model_.forward(b.inputs, rng);
      num_classes = logits.size(1);
      Tensor loss = cross_entropy(logits, b.labels, opt_.loss);
      double value = loss.item();
      SIGNET_CHECK(std::isfinite(value), "trainer: the loss is ", value, " at epoch ", epoch_,
                   " batch ", batches, "; stopped (the last good checkpoint is kept)");
      loss.backward();
      double max_norm =
          opt_.clip_norm > 0 ? opt_.clip_norm : std::numeric_limits<double>::infinity();
      norm_sum += optim::clip_grad_norm_(params, max_norm);
      optimizer_.step();
      ++step_;
      int64_t n = b.labels.size(0);
      loss_sum += value * static_cast<double>(n);
      hits += correct(logits, b.labels);
      seen += n;
      ++batches;
      if (opt_.on_progress)
        opt_.on_progress({epoch_, opt_.epochs, batches, train.batches_per_epoch(), seen, since(t0),
                          loss_sum / static_cast<double>(seen)});
    }
    SIGNET_CHECK(seen > 0, "trainer: the training loader gave no batch in epoch ", epoch_);
    EvalResult v = evaluate(val, num_classes);
    EpochLog row{epoch_,
                 static_cast<double>(hits) / static_cast<double>(seen),
                 loss_sum / static_cast<double>(seen),
                 v.top1,
                 v.loss,
                 optimizer_.groups().empty() ? 0.0 : optimizer_.groups()[0].lr,
                 since(t0),
                 norm_sum / static_cast<double>(batches)};
    logs.push_back(row);
    bool improved = v.loss < best_val_loss_;
    if (improved) best_val_loss_ = v.loss;
    epochs_without_improvement_ = improved ? 0 : epochs_without_improvement_ + 1;
    ++epoch_;  // checkpoints record the next epoch to run
    if (!opt_.run_dir.empty()) {
      append_log(opt_.run_dir + "/log.csv", row);
      save_checkpoint(opt_.run_dir + "/last.safetensors");
      if (improved) save_checkpoint(opt_.run_dir + "/best.safetensors");
    }
    if (opt_.on_epoch_end) opt_.on_epoch_end(row);
    if (opt_.patience > 0 && epochs_without_improvement_ >= opt_.patience) break;
  }
  return logs;
}

EvalResult Trainer::evaluate(data::Loader& loader, int64_t num_classes) {
  model_.train(false);
  NoGradGuard no_grad;
  RngStream unused = dropout_stream(opt_.seed, 0);
  loader.start_epoch(0);
  std::vector<Tensor> all_logits, all_labels;
  data::Batch b;
  while (loader.next(b)) {
    all_logits.push_back(model_.forward(b.inputs, unused));
    all_labels.push_back(b.labels);
  }
  SIGNET_CHECK(!all_logits.empty(), "trainer: the evaluation loader gave no batch");
  Tensor logits = cat(all_logits, 0), labels = cat(all_labels, 0);
  if (num_classes <= 0) num_classes = logits.size(1);
  EvalResult r;
  r.samples = labels.size(0);
  r.loss = cross_entropy(logits, labels, opt_.loss).item();
  r.top1 = metrics::top_k_accuracy(logits, labels, 1);
  r.top5 = metrics::top_k_accuracy(logits, labels, 5);
  r.top10 = metrics::top_k_accuracy(logits, labels, 10);
  r.confusion = metrics::confusion_matrix(metrics::argmax_predictions(logits), labels, num_classes);
  r.macro_f1 = metrics::macro_f1(r.confusion);
  return r;
}

void Trainer::save_checkpoint(const std::string& path) const {
  std::map<std::string, Tensor> out;
  for (auto& [name, p] : model_.named_parameters()) out[name] = p.detach();
  for (auto& [key, t] : optimizer_.state_dict()) out[kOptim + key] = t;
  out[std::string(kState) + "epoch"] = from_vector<int64_t>({epoch_}, Shape{});
  out[std::string(kState) + "step"] = from_vector<int64_t>({step_}, Shape{});
  out[std::string(kState) + "best_val_loss"] = from_vector<double>({best_val_loss_}, Shape{});
  out[std::string(kState) + "epochs_without_improvement"] =
      from_vector<int64_t>({epochs_without_improvement_}, Shape{});
  io::write_safetensors(path, out);
}

void Trainer::load_checkpoint(const std::string& path) {
  io::SafetensorsData in = io::read_safetensors(path);
  auto take = [&](const std::string& key) {
    auto it = in.tensors.find(key);
    SIGNET_CHECK(it != in.tensors.end(), "trainer: checkpoint ", path, " has no '", key, "'");
    return it->second;
  };
  NoGradGuard no_grad;
  for (auto& [name, p] : model_.named_parameters()) {
    Tensor t = take(name);
    SIGNET_CHECK(t.shape() == p.shape(), "trainer: checkpoint ", path, ": '", name, "' has shape ",
                 shape_str(t.shape()), ", the model's is ", shape_str(p.shape()));
    Tensor(p).copy_(t);
  }
  std::map<std::string, Tensor> optim_state;
  std::string prefix = kOptim;
  for (auto& [key, t] : in.tensors)
    if (key.rfind(prefix, 0) == 0) optim_state[key.substr(prefix.size())] = t;
  optimizer_.load_state_dict(optim_state);
  epoch_ = static_cast<int64_t>(take(std::string(kState) + "epoch").item());
  step_ = static_cast<int64_t>(take(std::string(kState) + "step").item());
  best_val_loss_ = take(std::string(kState) + "best_val_loss").item();
  epochs_without_improvement_ =
      static_cast<int64_t>(take(std::string(kState) + "epochs_without_improvement").item());
}

}  // namespace signet
