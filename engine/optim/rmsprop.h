// RMSProp as torch.optim.RMSprop (1.13): weight decay as L2, optional momentum and centring.
// Buffers: square_avg, grad_avg (centered) and momentum_buffer (momentum > 0).
#pragma once
#include "engine/optim/optimizer.h"

namespace signet::optim {

struct RmspropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
};

class Rmsprop : public Optimizer {
 public:
  Rmsprop(std::vector<ParamGroup> groups, const RmspropOptions& options);
  const RmspropOptions& options() const { return options_; }

 protected:
  void update(const Group& g, const Tensor& p, const Tensor& grad, ParamState& s) override;
  std::vector<std::string> buffer_names() const override {
    return {"square_avg", "grad_avg", "momentum_buffer"};
  }

 private:
  RmspropOptions options_;
};

}  // namespace signet::optim
