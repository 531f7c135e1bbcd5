// Optimiser base over parameter groups, as torch.optim.Optimizer: each group has its own lr and
// weight decay (defaults from the optimiser's options) and may be frozen (skipped by step()).
// A step updates, under a NoGradGuard, every parameter of every unfrozen group that has a
// gradient, with one fused kernel call per parameter, and bumps the parameter's storage version.
// Per-parameter state is created on the parameter's first update, on the parameter's device
// (cuda parameters update with the fused kernels of kernels/cuda/optim.h), and keyed by its name.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/nn/module.h"
#include "engine/tensor.h"

namespace signet::optim {

using NamedTensor = std::pair<std::string, Tensor>;

// A group as the caller gives it: named parameters (names unique across groups) and overrides.
struct ParamGroup {
  std::vector<NamedTensor> params;
  std::optional<double> lr;            // the optimiser's lr when unset
  std::optional<double> weight_decay;  // the optimiser's weight decay when unset
  bool frozen = false;
};

// A group as the optimiser holds it, every value resolved; schedules change lr.
struct Group {
  std::vector<NamedTensor> params;
  double lr = 0;
  double weight_decay = 0;
  bool frozen = false;
};

// One parameter's state: updates done so far and buffers under PyTorch's names (exp_avg, ...).
struct ParamState {
  int64_t step = 0;
  std::map<std::string, Tensor> buffers;
};

// One group holding every parameter of module m under its PyTorch name.
ParamGroup group_of(const nn::Module& m);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Updates every parameter that has a gradient in every group that is not frozen.
  void step();
  // Drops the gradients of every parameter of every group.
  void zero_grad() const;
  std::vector<Group>& groups() { return groups_; }
  const std::vector<Group>& groups() const { return groups_; }
  // The state of the named parameter (null before its first update).
  const ParamState* state(const std::string& param) const;
  // A plain map of copies: "state.<param>.step" (i64 0-d), "state.<param>.<buffer>",
  // "param_groups.<i>.lr" and "param_groups.<i>.weight_decay" (f64 0-d).
  std::map<std::string, Tensor> state_dict() const;
  // Restores a state_dict() of an optimiser of the same kind over the same parameters;
  // throws on an unknown key, a missing group value or a shape or dtype mismatch.
  void load_state_dict(const std::map<std::string, Tensor>& sd);

 protected:
  // Resolves groups against the default lr and weight decay; checks names and tensors.
  Optimizer(const char* name, std::vector<ParamGroup> groups, double lr, double weight_decay);
  // Applies one update to p from grad (contiguous, same shape and dtype); s.step is already
  // counted; missing buffers are created here.
  virtual void update(const Group& g, const Tensor& p, const Tensor& grad, ParamState& s) = 0;
  // Every buffer name this optimiser may keep per parameter.
  virtual std::vector<std::string> buffer_names() const = 0;
  // The named buffer of s, created as zeros like p when missing, moved to p's device when it is
  // elsewhere (state loaded or made before Module::to).
  static Tensor& buffer(ParamState& s, const std::string& name, const Tensor& p);
  const char* name() const { return name_; }

 private:
  const char* name_;
  std::vector<Group> groups_;
  std::map<std::string, ParamState> state_;
};

}  // namespace signet::optim
