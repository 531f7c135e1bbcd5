// Reference indexing along the middle axis of contiguous (outer, dim, inner) tensors.
#include "kernels/reference/index.h"

#include <cstdint>

namespace signet::ref {

using kernels::IndexDesc;

// out[o, j, i] = in[o, idx[j], i].
template <class T>
void index_select(const IndexDesc& d, const T* in, const int64_t* idx, T* out) {
  for (int64_t o = 0; o < d.outer; ++o)
    for (int64_t j = 0; j < d.dim_out; ++j)
      for (int64_t i = 0; i < d.inner; ++i)
        out[(o * d.dim_out + j) * d.inner + i] = in[(o * d.dim_in + idx[j]) * d.inner + i];
}

// grad_in[o, idx[j], i] += grad_out[o, j, i].
template <class T>
void index_add(const IndexDesc& d, const T* grad_out, const int64_t* idx, T* grad_in) {
  for (int64_t o = 0; o < d.outer; ++o)
    for (int64_t j = 0; j < d.dim_out; ++j)
      for (int64_t i = 0; i < d.inner; ++i)
        grad_in[(o * d.dim_in + idx[j]) * d.inner + i] +=
            grad_out[(o * d.dim_out + j) * d.inner + i];
}

// out[o, j, i] = in[o, idx[o, j, i], i].
template <class T>
void gather(const IndexDesc& d, const T* in, const int64_t* idx, T* out) {
  for (int64_t o = 0; o < d.outer; ++o)
    for (int64_t j = 0; j < d.dim_out; ++j)
      for (int64_t i = 0; i < d.inner; ++i) {
        const int64_t at = (o * d.dim_out + j) * d.inner + i;
        out[at] = in[(o * d.dim_in + idx[at]) * d.inner + i];
      }
}

// grad_in[o, idx[o, j, i], i] += grad_out[o, j, i].
template <class T>
void scatter_add(const IndexDesc& d, const T* grad_out, const int64_t* idx, T* grad_in) {
  for (int64_t o = 0; o < d.outer; ++o)
    for (int64_t j = 0; j < d.dim_out; ++j)
      for (int64_t i = 0; i < d.inner; ++i) {
        const int64_t at = (o * d.dim_out + j) * d.inner + i;
        grad_in[(o * d.dim_in + idx[at]) * d.inner + i] += grad_out[at];
      }
}

#define SIGNET_REF_SELECT(T)                                                     \
  template void index_select<T>(const IndexDesc&, const T*, const int64_t*, T*); \
  template void gather<T>(const IndexDesc&, const T*, const int64_t*, T*);
SIGNET_REF_SELECT(float)
SIGNET_REF_SELECT(double)
SIGNET_REF_SELECT(int64_t)
SIGNET_REF_SELECT(uint8_t)
#undef SIGNET_REF_SELECT

template void index_add<float>(const IndexDesc&, const float*, const int64_t*, float*);
template void index_add<double>(const IndexDesc&, const double*, const int64_t*, double*);
template void scatter_add<float>(const IndexDesc&, const float*, const int64_t*, float*);
template void scatter_add<double>(const IndexDesc&, const double*, const int64_t*, double*);

}  // namespace signet::ref
