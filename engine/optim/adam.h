// Adam and AdamW as torch.optim (1.13). Adam couples weight decay as L2 (added to the
// gradient); AdamW decouples it (p *= 1 - lr * weight_decay before the update). Buffers:
// exp_avg, exp_avg_sq and, with amsgrad, max_exp_avg_sq; the step count gives the bias
// corrections.
#pragma once
#include "engine/optim/optimizer.h"

namespace signet::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;  // AdamW's PyTorch default is 1e-2: set it explicitly
  bool amsgrad = false;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, const AdamOptions& options);
  const AdamOptions& options() const { return options_; }

 protected:
  // Used by AdamW: the same update with weight decay decoupled.
  Adam(const char* name, std::vector<ParamGroup> groups, const AdamOptions& options,
       bool decoupled);
  void update(const Group& g, const Tensor& p, const Tensor& grad, ParamState& s) override;
  std::vector<std::string> buffer_names() const override {
    return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  }

 private:
  AdamOptions options_;
  bool decoupled_;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, const AdamOptions& options);
};

}  // namespace signet::optim
