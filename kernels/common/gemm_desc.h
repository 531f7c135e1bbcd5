// A (strided-batched) row-major matrix product C = alpha * op(A) op(B) + beta * C.
#pragma once
#include <cstdint>

#include "kernels/common/hostdev.h"

namespace signet::kernels {

struct GemmDesc {
  int64_t m = 0, n = 0, k = 0;        // op(A) is m x k, op(B) is k x n, C is m x n
  bool trans_a = false;               // A stored k x m when true
  bool trans_b = false;               // B stored n x k when true
  int64_t lda = 0, ldb = 0, ldc = 0;  // row strides of A, B, C as stored
  double alpha = 1, beta = 0;         // beta == 0 ignores C's previous contents (even NaN)
  int64_t batch = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;  // element strides between batch items
};

// One gapless row-major product C (m, n) = op(A) op(B) + beta C: leading dimensions from the
// stored shapes, alpha 1, one batch item.
SIGNET_HD GemmDesc row_major_gemm(int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b,
                                  double beta) {
  GemmDesc d;
  d.m = m;
  d.n = n;
  d.k = k;
  d.trans_a = trans_a;
  d.trans_b = trans_b;
  d.lda = trans_a ? m : k;
  d.ldb = trans_b ? k : n;
  d.ldc = n;
  d.beta = beta;
  return d;
}

}  // namespace signet::kernels
