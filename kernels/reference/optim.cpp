#include "kernels/reference/optim.h"

#include "kernels/common/optim_update.h"

namespace signet::ref {

// SGD element by element (kernels/common/optim_update.h).
template <class T>
void sgd_step(const kernels::SgdDesc& d, T* param, const T* grad, T* buf) {
  const kernels::SgdScalars<T> s = kernels::sgd_scalars<T>(d);
  for (int64_t i = 0; i < d.n; ++i) kernels::sgd_update(d, s, i, param, grad, buf);
}

// Adam/AdamW element by element (kernels/common/optim_update.h).
template <class T>
void adam_step(const kernels::AdamDesc& d, T* param, const T* grad, T* m, T* v, T* vmax) {
  const kernels::AdamScalars<T> s = kernels::adam_scalars<T>(d);
  for (int64_t i = 0; i < d.n; ++i) kernels::adam_update(d, s, i, param, grad, m, v, vmax);
}

// RMSProp element by element (kernels/common/optim_update.h).
template <class T>
void rmsprop_step(const kernels::RmspropDesc& d, T* param, const T* grad, T* square_avg,
                  T* grad_avg, T* buf) {
  const kernels::RmspropScalars<T> s = kernels::rmsprop_scalars<T>(d);
  for (int64_t i = 0; i < d.n; ++i)
    kernels::rmsprop_update(d, s, i, param, grad, square_avg, grad_avg, buf);
}

template void sgd_step<float>(const kernels::SgdDesc&, float*, const float*, float*);
template void sgd_step<double>(const kernels::SgdDesc&, double*, const double*, double*);
template void adam_step<float>(const kernels::AdamDesc&, float*, const float*, float*, float*,
                               float*);
template void adam_step<double>(const kernels::AdamDesc&, double*, const double*, double*, double*,
                                double*);
template void rmsprop_step<float>(const kernels::RmspropDesc&, float*, const float*, float*, float*,
                                  float*);
template void rmsprop_step<double>(const kernels::RmspropDesc&, double*, const double*, double*,
                                   double*, double*);

}  // namespace signet::ref
