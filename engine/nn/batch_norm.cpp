// nn::BatchNorm1d/2d/3d: parameters, buffers and the momentum rule around ops/norm.h.
#include "engine/nn/batch_norm.h"

#include <string>

#include "engine/nn/trace.h"
#include "engine/ops/norm.h"

namespace signet::nn {

BatchNormNd::BatchNormNd(const char* name, int64_t rank_a, int64_t rank_b, int64_t num_features,
                         const BatchNormOptions& opt)
    : name_(name), rank_a_(rank_a), rank_b_(rank_b), num_features_(num_features), opt_(opt) {
  SIGNET_CHECK(num_features > 0, name, ": num_features must be > 0, got ", num_features);
  SIGNET_CHECK(opt.eps > 0.0, name, ": eps must be > 0, got ", opt.eps);
  SIGNET_CHECK(!opt.momentum || (*opt.momentum >= 0.0 && *opt.momentum <= 1.0), name,
               ": momentum must be in [0, 1], got ", opt.momentum.value_or(0.0));
  check_dtype(name, zeros({1}, opt.dtype), {DType::f32, DType::f64});
  if (opt.affine) {
    weight_ = register_parameter("weight", ones({num_features}, opt.dtype));
    bias_ = register_parameter("bias", zeros({num_features}, opt.dtype));
  }
  if (opt.track_running_stats) {
    running_mean_ = register_buffer("running_mean", zeros({num_features}, opt.dtype));
    running_var_ = register_buffer("running_var", ones({num_features}, opt.dtype));
    num_batches_tracked_ = register_buffer("num_batches_tracked", zeros({}, DType::i64));
  }
}

int64_t BatchNormNd::num_batches_tracked() const {
  if (!num_batches_tracked_.defined()) return 0;
  const Tensor host =
      num_batches_tracked_.device().is_cpu() ? num_batches_tracked_ : num_batches_tracked_.cpu();
  return host.data<int64_t>()[0];
}

Tensor BatchNormNd::forward(const Tensor& x) {
  check_defined(name_, x);
  const std::string ranks = rank_a_ == rank_b_
                                ? std::to_string(rank_a_)
                                : std::to_string(rank_a_) + " or " + std::to_string(rank_b_);
  SIGNET_CHECK(x.dim() == rank_a_ || x.dim() == rank_b_, name_, ": expects a ", ranks,
               "-d input, got shape ", shape_str(x.shape()));
  SIGNET_CHECK(x.size(1) == num_features_, name_, ": expects ", num_features_,
               " channels (dim 1), got shape ", shape_str(x.shape()));
  SIGNET_CHECK(!training() || x.numel() / num_features_ > 1, name_,
               ": expected more than 1 value per channel when training, got shape ",
               shape_str(x.shape()));
  double factor = 0.0;
  const bool update = training() && opt_.track_running_stats;
  if (update) {
    const int64_t seen = num_batches_tracked() + 1;
    if (num_batches_tracked_.device().is_cpu()) {
      num_batches_tracked_.data<int64_t>()[0] = seen;
      num_batches_tracked_.storage()->bump_version();
    } else {
      num_batches_tracked_.copy_(
          scalar_tensor(static_cast<double>(seen), DType::i64).to(num_batches_tracked_.device()));
    }
    factor = opt_.momentum ? *opt_.momentum : 1.0 / static_cast<double>(seen);
  }
  const bool use_batch = training() || !opt_.track_running_stats;
  Tensor y = batch_norm(x, use_batch && !update ? Tensor() : running_mean_,
                        use_batch && !update ? Tensor() : running_var_, weight_, bias_, use_batch,
                        factor, opt_.eps);
  trace_output(this, name_, y);
  return y;
}

}  // namespace signet::nn
