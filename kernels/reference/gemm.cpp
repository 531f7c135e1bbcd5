// Reference GEMM: three plain loops per batch item, each C element accumulated in double.
#include "kernels/reference/gemm.h"

#include <cstdint>

namespace signet::ref {

// C = alpha * op(A) op(B) + beta * C; beta == 0 overwrites C without reading it.
template <class T>
void gemm(const kernels::GemmDesc& d, const T* a, const T* b, T* c) {
  for (int64_t p = 0; p < d.batch; ++p) {
    const T* ap = a + p * d.stride_a;
    const T* bp = b + p * d.stride_b;
    T* cp = c + p * d.stride_c;
    for (int64_t i = 0; i < d.m; ++i) {
      for (int64_t j = 0; j < d.n; ++j) {
        double acc = 0;
        for (int64_t l = 0; l < d.k; ++l) {
          const T x = d.trans_a ? ap[l * d.lda + i] : ap[i * d.lda + l];
          const T y = d.trans_b ? bp[j * d.ldb + l] : bp[l * d.ldb + j];
          acc += static_cast<double>(x) * static_cast<double>(y);
        }
        T& out = cp[i * d.ldc + j];
        const double old = d.beta == 0 ? 0.0 : d.beta * static_cast<double>(out);
        out = static_cast<T>(d.alpha * acc + old);
      }
    }
  }
}

template void gemm<float>(const kernels::GemmDesc&, const float*, const float*, float*);
template void gemm<double>(const kernels::GemmDesc&, const double*, const double*, double*);

}  // namespace signet::ref
