// Run folders of `signet train` (config.json, log.csv, best/last.safetensors): opening one
// (or a checkpoint beside its config.json) as a ready model, and printing metrics.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/trainer.h"
#include "models/model.h"
#include "tools/cli/run_config.h"

namespace signet::cli {

// A trained model with what it was trained on.
struct OpenedRun {
  RunConfig config;
  std::shared_ptr<models::Model> model;
  std::vector<std::string> class_names;  // one per class ("class i" when the data had none)
  Shape input_shape;                     // one sample
  std::string checkpoint;                // the weights loaded
};

// The whole text of a file; an Error naming it when it cannot be read.
std::string read_text(const std::string& path);
// Opens a run folder (its best.safetensors, or last.safetensors when it has none) or a checkpoint
// file with config.json beside it.
OpenedRun open_run(const std::string& command, const std::string& path);
// Copies the model parameters of a safetensors file (checkpoint keys of the trainer ignored).
void load_weights(models::Model& model, const std::string& path);
// "class i" names for classes without names.
std::vector<std::string> complete_names(std::vector<std::string> names, int64_t classes);
// Prints loss, top-1/5/10, macro-F1, the confusion matrix and per-class accuracy.
void print_metrics(const char* split, const EvalResult& r, const std::vector<std::string>& names);
// Prints the five most probable classes of one probability row.
void print_top5(const std::vector<float>& probs, const std::vector<std::string>& names);

}  // namespace signet::cli
