// nn::BatchNorm1d, BatchNorm2d and BatchNorm3d as torch.nn's: parameters `weight` (ones) and
// `bias` (zeros) when affine; buffers `running_mean` (zeros), `running_var` (ones) and
// `num_batches_tracked` (i64 0-d) when track_running_stats. Training (Module::train) normalises
// with the batch statistics and updates the running ones with momentum (momentum unset: the
// cumulative average, factor 1 / num_batches_tracked); evaluation uses the running statistics,
// or the batch ones when none are tracked. See engine/ops/norm.h for the math.
#pragma once
#include <optional>

#include "engine/nn/module.h"

namespace signet::nn {

// The options of a batch norm layer (PyTorch's defaults).
struct BatchNormOptions {
  double eps = 1e-5;
  std::optional<double> momentum = 0.1;
  bool affine = true;
  bool track_running_stats = true;
  DType dtype = DType::f32;
};

// The shared body; the subclasses only check the input's rank.
class BatchNormNd : public Module {
 public:
  // Normalises x per channel (dim 1).
  Tensor forward(const Tensor& x);
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  const Tensor& running_mean() const { return running_mean_; }
  const Tensor& running_var() const { return running_var_; }
  // The number of training batches seen (0 when statistics are not tracked).
  int64_t num_batches_tracked() const;

 protected:
  // name and the accepted input ranks are used in the shape check.
  BatchNormNd(const char* name, int64_t rank_a, int64_t rank_b, int64_t num_features,
              const BatchNormOptions& opt);

 private:
  const char* name_;
  int64_t rank_a_, rank_b_, num_features_;
  BatchNormOptions opt_;
  Tensor weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
};

// Over (N, C) or (N, C, L) inputs.
class BatchNorm1d : public BatchNormNd {
 public:
  explicit BatchNorm1d(int64_t num_features, const BatchNormOptions& opt = {})
      : BatchNormNd("BatchNorm1d", 2, 3, num_features, opt) {}
};

// Over (N, C, H, W) inputs.
class BatchNorm2d : public BatchNormNd {
 public:
  explicit BatchNorm2d(int64_t num_features, const BatchNormOptions& opt = {})
      : BatchNormNd("BatchNorm2d", 4, 4, num_features, opt) {}
};

// Over (N, C, D, H, W) inputs.
class BatchNorm3d : public BatchNormNd {
 public:
  explicit BatchNorm3d(int64_t num_features, const BatchNormOptions& opt = {})
      : BatchNormNd("BatchNorm3d", 5, 5, num_features, opt) {}
};

}  // namespace signet::nn
