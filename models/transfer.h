// Transfer learning: load weights by PyTorch name (with a report of what matched), and split a
// model's parameters into optimiser groups by name prefix (frozen, or with their own lr).
// Replacing the head for a new class count is Model::reset_head (models/model.h).
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/nn/module.h"
#include "engine/optim/optimizer.h"

namespace signet::models {

// What load_weights did: names loaded, parameters and buffers the file lacks, and file tensors
// that name neither.
struct LoadReport {
  std::vector<std::string> loaded, missing, unexpected;
};

// Copies every tensor whose name is a parameter or buffer of m into it (converted to the
// parameter's dtype). A shape mismatch is an error naming the tensor and both shapes, checked
// before anything is copied; with strict, so is any missing or unexpected name.
LoadReport load_weights(nn::Module& m, const std::map<std::string, Tensor>& tensors,
                        bool strict = false);
// load_weights from a safetensors file (e.g. written by PyTorch's safetensors.torch.save_file).
LoadReport load_weights(nn::Module& m, const std::string& path, bool strict = false);

// A rule for param_groups: parameters whose name starts with prefix ("conv1.", "lstm.") are
// frozen, or trained with their own lr.
struct GroupRule {
  std::string prefix;
  bool frozen = false;
  std::optional<double> lr;
};

// One optimiser group per rule (a parameter goes to the first rule whose prefix it matches),
// then, when any parameter is left, one group of the rest with the optimiser's defaults. A rule
// that matches no parameter is an error listing the parameter names.
std::vector<optim::ParamGroup> param_groups(const nn::Module& m,
                                            const std::vector<GroupRule>& rules);

}  // namespace signet::models
