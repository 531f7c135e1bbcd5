#include "engine/optim/sgd.h"

#include "engine/cuda_kernels.h"
#include "engine/dispatch.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/threads.h"
#include "kernels/reference/optim.h"

namespace signet::optim {
namespace {

using kernels::SgdDesc;
using SgdFn = void (*)(const SgdDesc&, void*, const void*, void*);

// Adapts ref::sgd_step<T> to the untyped dispatch signature.
template <class T>
void sgd_ref(const SgdDesc& d, void* p, const void* g, void* buf) {
  ref::sgd_step<T>(d, static_cast<T*>(p), static_cast<const T*>(g), static_cast<T*>(buf));
}

// Adapts cpu::sgd_step_v2<T> (all OpenMP threads) to the untyped dispatch signature.
template <class T>
void sgd_v2(const SgdDesc& d, void* p, const void* g, void* buf) {
  cpu::sgd_step_v2<T>(d, static_cast<T*>(p), static_cast<const T*>(g), static_cast<T*>(buf),
                      cpu::default_threads());
}

}  // namespace

Sgd::Sgd(std::vector<ParamGroup> groups, const SgdOptions& options)
    : Optimizer("SGD", std::move(groups), options.lr, options.weight_decay), options_(options) {
  SIGNET_CHECK(options.momentum >= 0, "SGD: momentum must be >= 0, got ", options.momentum);
  SIGNET_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
               "SGD: Nesterov momentum requires momentum > 0 and dampening = 0 (momentum ",
               options.momentum, ", dampening ", options.dampening, ")");
}

void Sgd::update(const Group& g, const Tensor& p, const Tensor& grad, ParamState& s) {
  static const dispatch::Op<SgdFn> op(
      "sgd_step", {{"v2_split", Device::Type::cpu, {{DType::f32, &sgd_v2<float>}}},
                   {"v1_reference",
                    Device::Type::cpu,
                    {{DType::f32, &sgd_ref<float>}, {DType::f64, &sgd_ref<double>}}},
                   {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_sgd_step_f32}}}});
  SgdDesc d;
  d.n = p.numel();
  d.lr = g.lr;
  d.momentum = options_.momentum;
  d.dampening = options_.dampening;
  d.weight_decay = g.weight_decay;
  d.nesterov = options_.nesterov;
  void* buf = nullptr;
  if (options_.momentum != 0) {
    d.first_step = !s.buffers.count("momentum_buffer");
    buf = buffer(s, "momentum_buffer", p).raw_data();
  }
  op.run(p.device(), p.dtype(), {}, d, p.raw_data(), grad.raw_data(), buf);
}

}  // namespace signet::optim
