// Reference negative log-likelihood over (n, c, inner) log-probabilities.
#include "kernels/reference/nll.h"

#include <cstdint>

namespace signet::ref {

// Per (n, j): the weighted negated log-probability of the target class and its weight.
template <class T>
void nll_forward(const kernels::NllDesc& d, const T* logp, const int64_t* target, const T* weight,
                 T* loss, T* wsum) {
  for (int64_t s = 0; s < d.n; ++s) {
    for (int64_t j = 0; j < d.inner; ++j) {
      const int64_t at = s * d.inner + j;
      const int64_t t = target[at];
      if (t == d.ignore_index) {
        loss[at] = T(0);
        wsum[at] = T(0);
        continue;
      }
      const T w = weight ? weight[t] : T(1);
      loss[at] = -w * logp[(s * d.c + t) * d.inner + j];
      wsum[at] = w;
    }
  }
}

// Zeroes dlogp, then writes -w[t] * dloss at each non-ignored target position.
template <class T>
void nll_backward(const kernels::NllDesc& d, const int64_t* target, const T* weight, const T* dloss,
                  T* dlogp) {
  for (int64_t e = 0; e < d.n * d.c * d.inner; ++e) dlogp[e] = T(0);
  for (int64_t s = 0; s < d.n; ++s) {
    for (int64_t j = 0; j < d.inner; ++j) {
      const int64_t at = s * d.inner + j;
      const int64_t t = target[at];
      if (t == d.ignore_index) continue;
      const T w = weight ? weight[t] : T(1);
      dlogp[(s * d.c + t) * d.inner + j] = -w * dloss[at];
    }
  }
}

template void nll_forward<float>(const kernels::NllDesc&, const float*, const int64_t*,
                                 const float*, float*, float*);
template void nll_forward<double>(const kernels::NllDesc&, const double*, const int64_t*,
                                  const double*, double*, double*);
template void nll_backward<float>(const kernels::NllDesc&, const int64_t*, const float*,
                                  const float*, float*);
template void nll_backward<double>(const kernels::NllDesc&, const int64_t*, const double*,
                                   const double*, double*);

}  // namespace signet::ref
