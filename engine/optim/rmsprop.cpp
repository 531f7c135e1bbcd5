#include "engine/optim/rmsprop.h"

#include "engine/cuda_kernels.h"
#include "engine/dispatch.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/threads.h"
#include "kernels/reference/optim.h"

namespace signet::optim {
namespace {

using kernels::RmspropDesc;
using RmspropFn = void (*)(const RmspropDesc&, void*, const void*, void*, void*, void*);

// Adapts ref::rmsprop_step<T> to the untyped dispatch signature.
template <class T>
void rmsprop_ref(const RmspropDesc& d, void* p, const void* g, void* sq, void* ga, void* buf) {
  ref::rmsprop_step<T>(d, static_cast<T*>(p), static_cast<const T*>(g), static_cast<T*>(sq),
                       static_cast<T*>(ga), static_cast<T*>(buf));
}

// Adapts cpu::rmsprop_step_v2<T> (all OpenMP threads) to the untyped dispatch signature.
template <class T>
void rmsprop_v2(const RmspropDesc& d, void* p, const void* g, void* sq, void* ga, void* buf) {
  cpu::rmsprop_step_v2<T>(d, static_cast<T*>(p), static_cast<const T*>(g), static_cast<T*>(sq),
                          static_cast<T*>(ga), static_cast<T*>(buf), cpu::default_threads());
}

}  // namespace

Rmsprop::Rmsprop(std::vector<ParamGroup> groups, const RmspropOptions& options)
    : Optimizer("RMSprop", std::move(groups), options.lr, options.weight_decay), options_(options) {
  SIGNET_CHECK(options.alpha >= 0, "RMSprop: alpha must be >= 0, got ", options.alpha);
  SIGNET_CHECK(options.eps >= 0, "RMSprop: eps must be >= 0, got ", options.eps);
  SIGNET_CHECK(options.momentum >= 0, "RMSprop: momentum must be >= 0, got ", options.momentum);
}

void Rmsprop::update(const Group& g, const Tensor& p, const Tensor& grad, ParamState& s) {
  static const dispatch::Op<RmspropFn> op(
      "rmsprop_step", {{"v2_split", Device::Type::cpu, {{DType::f32, &rmsprop_v2<float>}}},
                       {"v1_reference",
                        Device::Type::cpu,
                        {{DType::f32, &rmsprop_ref<float>}, {DType::f64, &rmsprop_ref<double>}}},
                       {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_rmsprop_step_f32}}}});
  RmspropDesc d;
  d.n = p.numel();
  d.lr = g.lr;
  d.alpha = options_.alpha;
  d.eps = options_.eps;
  d.weight_decay = g.weight_decay;
  d.momentum = options_.momentum;
  d.centered = options_.centered;
  void* sq = buffer(s, "square_avg", p).raw_data();
  void* ga = options_.centered ? buffer(s, "grad_avg", p).raw_data() : nullptr;
  void* buf = options_.momentum > 0 ? buffer(s, "momentum_buffer", p).raw_data() : nullptr;
  op.run(p.device(), p.dtype(), {}, d, p.raw_data(), grad.raw_data(), sq, ga, buf);
}

}  // namespace signet::optim
