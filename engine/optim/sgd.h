// SGD as torch.optim.SGD (1.13): momentum with dampening, Nesterov, weight decay coupled as L2
// (added to the gradient). Buffer: momentum_buffer (only with momentum).
#pragma once
#include "engine/optim/optimizer.h"

namespace signet::optim {

struct SgdOptions {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

class Sgd : public Optimizer {
 public:
  // Nesterov needs momentum > 0 and dampening = 0, as in PyTorch.
  Sgd(std::vector<ParamGroup> groups, const SgdOptions& options);
  const SgdOptions& options() const { return options_; }

 protected:
  void update(const Group& g, const Tensor& p, const Tensor& grad, ParamState& s) override;
  std::vector<std::string> buffer_names() const override { return {"momentum_buffer"}; }

 private:
  SgdOptions options_;
};

}  // namespace signet::optim
