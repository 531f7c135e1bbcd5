#include "kernels/reference/dropout.h"

#include "kernels/common/dropout_desc.h"

namespace signet::ref {
namespace {

// Whether the unit of global element index e survives: h(unit) >= ceil(p 2^16).
bool keeps(const kernels::DropoutDesc& d, int64_t e) {
  const uint64_t unit = static_cast<uint64_t>(e / d.group);
  return kernels::dropout_halfword(d.seed, d.offset, unit) >= kernels::dropout_threshold(d.p);
}

}  // namespace

template <class T>
void dropout_forward(const kernels::DropoutDesc& d, const T* x, T* y) {
  const T scale = d.p < 1 ? static_cast<T>(1.0 / (1.0 - d.p)) : T(0);
  for (int64_t e = 0; e < d.n; ++e) y[e] = keeps(d, d.first + e) ? x[e] * scale : T(0);
}

void dropout_mask(const kernels::DropoutDesc& d, uint8_t* mask) {
  for (int64_t e = 0; e < d.n; ++e) mask[e] = keeps(d, d.first + e) ? 1 : 0;
}

template void dropout_forward<float>(const kernels::DropoutDesc&, const float*, float*);
template void dropout_forward<double>(const kernels::DropoutDesc&, const double*, double*);

}  // namespace signet::ref
