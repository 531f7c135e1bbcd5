// The matrix products the issue measures, shared by bench_gemm.cpp and bench_cuda_gemm.cpp.
#pragma once
#include <cstdint>

namespace signet::bench {

// One case: C (m x n) = op(A) op(B), as the layer that needs it stores its operands.
struct GemmCase {
  const char* name;
  const char* direction;
  int64_t m, n, k;
  bool trans_a, trans_b;
};

// 1024^3; the LSTM step X W^T (32 x 1024 by 4096 x 1024 stored); its weight gradient G^T X
// (G stored 32 x 4096); a 20-step input projection X W^T (640 x 1024 by 4096 x 1024 stored).
inline const GemmCase kGemmCases[] = {
    {"1024x1024x1024", "fwd", 1024, 1024, 1024, false, false},
    {"lstm_step_32x4096x1024", "fwd", 32, 4096, 1024, false, true},
    {"lstm_wgrad_4096x1024x32", "bwd_weights", 4096, 1024, 32, true, false},
    {"lstm_inproj_640x4096x1024", "fwd", 640, 4096, 1024, false, true},
};

}  // namespace signet::bench
