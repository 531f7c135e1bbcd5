#include "engine/optim/adam.h"

#include <cmath>

#include "engine/cuda_kernels.h"
#include "engine/dispatch.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/threads.h"
#include "kernels/reference/optim.h"

namespace signet::optim {
namespace {

using kernels::AdamDesc;
using AdamFn = void (*)(const AdamDesc&, void*, const void*, void*, void*, void*);

// Adapts ref::adam_step<T> to the untyped dispatch signature.
template <class T>
void adam_ref(const AdamDesc& d, void* p, const void* g, void* m, void* v, void* vmax) {
  ref::adam_step<T>(d, static_cast<T*>(p), static_cast<const T*>(g), static_cast<T*>(m),
                    static_cast<T*>(v), static_cast<T*>(vmax));
}

// Adapts cpu::adam_step_v2<T> (all OpenMP threads) to the untyped dispatch signature.
template <class T>
void adam_v2(const AdamDesc& d, void* p, const void* g, void* m, void* v, void* vmax) {
  cpu::adam_step_v2<T>(d, static_cast<T*>(p), static_cast<const T*>(g), static_cast<T*>(m),
                       static_cast<T*>(v), static_cast<T*>(vmax), cpu::default_threads());
}

}  // namespace

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& options)
    : Adam("Adam", std::move(groups), options, false) {}

Adam::Adam(const char* name, std::vector<ParamGroup> groups, const AdamOptions& options,
           bool decoupled)
    : Optimizer(name, std::move(groups), options.lr, options.weight_decay),
      options_(options),
      decoupled_(decoupled) {
  SIGNET_CHECK(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1,
               name, ": betas must be in [0, 1), got (", options.beta1, ", ", options.beta2, ")");
  SIGNET_CHECK(options.eps >= 0, name, ": eps must be >= 0, got ", options.eps);
}

void Adam::update(const Group& g, const Tensor& p, const Tensor& grad, ParamState& s) {
  static const dispatch::Op<AdamFn> op(
      "adam_step", {{"v2_split", Device::Type::cpu, {{DType::f32, &adam_v2<float>}}},
                    {"v1_reference",
                     Device::Type::cpu,
                     {{DType::f32, &adam_ref<float>}, {DType::f64, &adam_ref<double>}}},
                    {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_adam_step_f32}}}});
  const double t = static_cast<double>(s.step);
  AdamDesc d;
  d.n = p.numel();
  d.lr = g.lr;
  d.beta1 = options_.beta1;
  d.beta2 = options_.beta2;
  d.eps = options_.eps;
  d.weight_decay = g.weight_decay;
  d.step_size = g.lr / (1 - std::pow(options_.beta1, t));
  d.bias_correction2_sqrt = std::sqrt(1 - std::pow(options_.beta2, t));
  d.decoupled = decoupled_;
  d.amsgrad = options_.amsgrad;
  void* m = buffer(s, "exp_avg", p).raw_data();
  void* v = buffer(s, "exp_avg_sq", p).raw_data();
  void* vmax = options_.amsgrad ? buffer(s, "max_exp_avg_sq", p).raw_data() : nullptr;
  op.run(p.device(), p.dtype(), {}, d, p.raw_data(), grad.raw_data(), m, v, vmax);
}

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamOptions& options)
    : Adam("AdamW", std::move(groups), options, true) {}

}  // namespace signet::optim
