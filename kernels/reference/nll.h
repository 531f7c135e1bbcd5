// Reference negative log-likelihood. Targets are validated by the caller (0 <= t < c or
// t == ignore_index) before these run.
#pragma once
#include <cstdint>

#include "kernels/common/nll_desc.h"

namespace signet::ref {

// loss[n, j] = -w[t] * logp[n, t, j] and wsum[n, j] = w[t], with t = target[n, j]; both 0 where
// t == ignore_index. weight may be null (all ones).
template <class T>
void nll_forward(const kernels::NllDesc& d, const T* logp, const int64_t* target, const T* weight,
                 T* loss, T* wsum);

// dlogp = 0 except dlogp[n, t, j] = -w[t] * dloss[n, j] (t != ignore_index).
template <class T>
void nll_backward(const kernels::NllDesc& d, const int64_t* target, const T* weight, const T* dloss,
                  T* dlogp);

}  // namespace signet::ref
