#include "engine/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "engine/metrics.h"
#include "engine/nn/recurrent_classifier.h"
#include "engine/nn/tbptt.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/join.h"
#include "engine/ops/reduce.h"
#include "engine/optim/clip_grad.h"
#include "engine/optim/lr_scheduler.h"

namespace signet {
namespace {

using Clock = std::chrono::steady_clock;

// Seconds since t0.
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Rows of logits whose argmax equals the label.
int64_t correct(const Tensor& logits, const Tensor& labels) {
  std::vector<int64_t> p = argmax(logits.detach(), 1).cpu().to_vector<int64_t>();
  std::vector<int64_t> y = labels.cpu().to_vector<int64_t>();
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
const char* const kSchedule = "__schedule__.";
const char* const kPlateau = "__plateau__.";

// The entries of tensors whose key starts with prefix, with the prefix cut off.
std::map<std::string, Tensor> with_prefix(const std::map<std::string, Tensor>& tensors,
                                          const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (auto& [key, t] : tensors)
    if (key.rfind(prefix, 0) == 0) out[key.substr(prefix.size())] = t;
  return out;
}

}  // namespace

Trainer::Trainer(nn::Classifier& model, optim::Optimizer& optimizer, TrainerOptions options)
    : model_(model),
      optimizer_(optimizer),
      opt_(std::move(options)),
      best_val_loss_(std::numeric_limits<double>::infinity()) {
  SIGNET_CHECK(opt_.epochs >= 0 && opt_.patience >= 0 && opt_.clip_norm >= 0,
               "trainer: epochs, patience and clip_norm must be non-negative");
}

double Trainer::step_optimizer(const std::vector<Tensor>& params) {
  double max_norm = opt_.clip_norm > 0 ? opt_.clip_norm : std::numeric_limits<double>::infinity();
  double norm = optim::clip_grad_norm_(params, max_norm);
  optimizer_.step();
  ++step_;
  return norm;
}

void Trainer::train_batch(const data::Batch& b, const std::vector<Tensor>& params,
                          EpochSums& sums) {
  RngStream rng = dropout_stream(opt_.seed, static_cast<uint64_t>(step_));
  optimizer_.zero_grad();
  Tensor labels = b.labels.to(opt_.device);
  Tensor logits = model_.forward_with_lengths(b.inputs.to(opt_.device), b.lengths, rng);
  Tensor loss = cross_entropy(logits, labels, opt_.loss);
  double value = loss.cpu().item();
  SIGNET_CHECK(std::isfinite(value), "trainer: the loss is ", value, " at epoch ", epoch_,
               " batch ", sums.batches, "; stopped (the last good checkpoint is kept)");
  loss.backward();
  sums.norm += step_optimizer(params);
  ++sums.steps;
  int64_t n = b.labels.size(0);
  sums.loss += value * static_cast<double>(n);
  sums.hits += correct(logits, labels);
  sums.classes = logits.size(1);
}

void Trainer::train_batch_tbptt(const data::Batch& b, const std::vector<Tensor>& params,
                                EpochSums& sums) {
  auto* rnn = dynamic_cast<nn::RecurrentClassifier*>(&model_);
  SIGNET_CHECK(rnn, "trainer: --tbptt needs a recurrent model (feature_lstm, cnn_lstm, convlstm)");
  RngStream rng = dropout_stream(opt_.seed, static_cast<uint64_t>(step_));
  Tensor x = rnn->as_sequence(b.inputs.to(opt_.device)), labels = b.labels.to(opt_.device);
  SIGNET_CHECK(x.dim() >= 3, "trainer: --tbptt needs sequences (N, T, ...), got ",
               shape_str(x.shape()));
  const int64_t T = x.size(1), chunks = (T + opt_.tbptt - 1) / opt_.tbptt;
  if (b.lengths.defined())
    for (int64_t n : b.lengths.to_vector<int64_t>())
      SIGNET_CHECK(n == T, "trainer: --tbptt runs whole sequences, but a padded one of length ", n,
                   " of ", T, " is in batch ", sums.batches);
  Tensor last_logits;
  double last_value = 0;
  optimizer_.zero_grad();
  auto forward = [&](const Tensor& in, const nn::LstmState& s, const Tensor&) {
    return rnn->forward_chunk(in, s, rng);
  };
  auto on_chunk = [&](const nn::TbpttChunk& c) {
    Tensor loss = cross_entropy(c.output, labels, opt_.loss);
    double value = loss.cpu().item();
    SIGNET_CHECK(std::isfinite(value), "trainer: the loss is ", value, " at epoch ", epoch_,
                 " batch ", sums.batches, " chunk ", c.index,
                 "; stopped (the last good checkpoint is kept)");
    if (opt_.tbptt_step_per_chunk) {
      loss.backward();
      sums.norm += step_optimizer(params);
      ++sums.steps;
      optimizer_.zero_grad();
    } else {
      (loss * (1.0 / static_cast<double>(chunks))).backward();
    }
    last_logits = c.output.detach();
    last_value = value;
  };
  nn::truncated_bptt(forward, x, opt_.tbptt, on_chunk, {}, Tensor(), true);
  if (!opt_.tbptt_step_per_chunk) {
    sums.norm += step_optimizer(params);
    ++sums.steps;
  }
  int64_t n = b.labels.size(0);
  sums.loss += last_value * static_cast<double>(n);
  sums.hits += correct(last_logits, labels);
  sums.classes = last_logits.size(1);
}

std::vector<EpochLog> Trainer::fit(data::Loader& train, data::Loader& val) {
  return fit_epochs(train, &val);
}

std::vector<EpochLog> Trainer::fit(data::Loader& train) {
  SIGNET_CHECK(opt_.patience == 0 && !opt_.plateau, "trainer: early stopping (patience ",
               opt_.patience, ") and the plateau schedule need a validation split");
  return fit_epochs(train, nullptr);
}

std::vector<EpochLog> Trainer::fit_epochs(data::Loader& train, data::Loader* val) {
  if (!opt_.run_dir.empty()) std::filesystem::create_directories(opt_.run_dir);
  std::vector<Tensor> params;  // what the optimiser trains: the gradient norm is theirs
  for (const optim::Group& g : optimizer_.groups())
    if (!g.frozen)
      for (const auto& named : g.params) params.push_back(named.second);
  std::vector<EpochLog> logs;
  while (epoch_ < opt_.epochs) {
    Clock::time_point t0 = Clock::now();
    model_.train(true);
    train.start_epoch(static_cast<uint64_t>(epoch_));
    EpochSums sums;
    data::Batch b;
    while (train.next(b)) {
      if (opt_.tbptt > 0)
        train_batch_tbptt(b, params, sums);
      else
        train_batch(b, params, sums);
      sums.seen += b.labels.size(0);
      ++sums.batches;
      if (opt_.on_progress)
        opt_.on_progress({epoch_, opt_.epochs, sums.batches, train.batches_per_epoch(), sums.seen,
                          since(t0), sums.loss / static_cast<double>(sums.seen)});
    }
    SIGNET_CHECK(sums.seen > 0, "trainer: the training loader gave no batch in epoch ", epoch_);
    EvalResult v;
    if (val) {
      v = evaluate(*val, sums.classes);
    } else {
      v.top1 = v.loss = std::numeric_limits<double>::quiet_NaN();
    }
    EpochLog row{epoch_,
                 static_cast<double>(sums.hits) / static_cast<double>(sums.seen),
                 sums.loss / static_cast<double>(sums.seen),
                 v.top1,
                 v.loss,
                 optimizer_.groups().empty() ? 0.0 : optimizer_.groups()[0].lr,
                 since(t0),
                 sums.norm / static_cast<double>(sums.steps)};
    logs.push_back(row);
    bool improved = val && v.loss < best_val_loss_;
    if (improved) best_val_loss_ = v.loss;
    epochs_without_improvement_ = improved ? 0 : epochs_without_improvement_ + 1;
    ++epoch_;  // checkpoints record the next epoch to run and the lr it runs with
    if (opt_.schedule) opt_.schedule->step();
    if (opt_.plateau) opt_.plateau->step(v.loss);
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
    all_logits.push_back(
        model_.forward_with_lengths(b.inputs.to(opt_.device), b.lengths, unused).to(Device::cpu()));
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
  for (auto& [name, p] : model_.state_dict()) out[name] = p.detach().to(Device::cpu());
  for (auto& [key, t] : optimizer_.state_dict()) out[kOptim + key] = t.to(Device::cpu());
  if (opt_.schedule)
    for (auto& [key, t] : opt_.schedule->state_dict()) out[kSchedule + key] = t;
  if (opt_.plateau)
    for (auto& [key, t] : opt_.plateau->state_dict()) out[kPlateau + key] = t;
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
  for (auto& [name, p] : model_.state_dict()) {
    Tensor t = take(name);
    SIGNET_CHECK(t.shape() == p.shape(), "trainer: checkpoint ", path, ": '", name, "' has shape ",
                 shape_str(t.shape()), ", the model's is ", shape_str(p.shape()));
    Tensor(p).copy_(t);
  }
  std::map<std::string, Tensor> optim_state = with_prefix(in.tensors, kOptim);
  for (auto& [key, t] : optim_state)  // per-parameter buffers live on the parameters' device
    if (key.rfind("state.", 0) == 0 && t.dim() > 0) t = t.to(opt_.device);
  optimizer_.load_state_dict(optim_state);
  if (opt_.schedule) opt_.schedule->load_state_dict(with_prefix(in.tensors, kSchedule));
  if (opt_.plateau) opt_.plateau->load_state_dict(with_prefix(in.tensors, kPlateau));
  epoch_ = static_cast<int64_t>(take(std::string(kState) + "epoch").item());
  step_ = static_cast<int64_t>(take(std::string(kState) + "step").item());
  best_val_loss_ = take(std::string(kState) + "best_val_loss").item();
  epochs_without_improvement_ =
      static_cast<int64_t>(take(std::string(kState) + "epochs_without_improvement").item());
}

}  // namespace signet
