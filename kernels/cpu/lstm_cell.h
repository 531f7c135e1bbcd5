// Fast CPU fused LSTM cell (float), forward and backward, the twin of kernels/reference/lstm.h
// with the same arguments and the same handling of inactive rows (see kernels/common/lstm_cell.h):
//   v2 simd  units of a row in 16-lane AVX-512 vectors (masked tails) or, on the portable path,
//            a scalar loop of the same math; rows split over OpenMP threads (static, contiguous).
//            sigmoid and tanh use the approximations below instead of libm. Measured on an L1
//            step (32 x 1024 units, 1 thread, loaded machine): forward 0.26-0.58 ms (v1: 5.0),
//            backward 0.34-0.46 ms (v1: 1.6).
// Approximations (float, any input; NaN propagates):
//   exp(x)     x clamped to [-86, 88], x = n ln2 + r (Cody-Waite, n by the 1.5 * 2^23 shifter),
//              exp(r) = 1 + r + r^2 P5(r) (Cephes expf), times 2^n through the exponent bits.
//   sigmoid(x) 1 / (1 + exp(-x)).
//   tanh(x)    |x| < 0.625: x + x^3 P4(x^2) (weighted least-squares fit, relative error of the
//              fit below 1e-8); else sign(x) (1 - 2 / (exp(2|x|) + 1)).
// Bound (checked in tests/test_lstm_kernels.cpp against double libm on a dense grid over
// [-100, 100]): relative error at most kLstmActivationMaxRelError for sigmoid(x), x >= -85, and
// for tanh(x) everywhere; below x = -85, sigmoid's absolute error is under 1e-37. Measured worst
// on a 4M-point grid: 1.47e-7 (sigmoid) and 1.29e-7 (tanh), about 2.5 and 2.2 units of 2^-24.
// The AVX-512 and portable activations do the same operations in the same order: bitwise
// identical (tested). An AVX2-only CPU takes the portable loop.
// Kernels never allocate and never throw; arguments are checked by the caller.
#pragma once
#include <cstdint>

#include "kernels/common/lstm_cell.h"
#include "kernels/cpu/cpu_features.h"

namespace signet::cpu {

// The relative error bound of lstm_sigmoid and lstm_tanh (4 ulp of 1.0: 2^-21).
constexpr double kLstmActivationMaxRelError = 4.76837158203125e-7;

// y[k] = sigmoid(x[k]) for k < n with the approximation above on `path` (x may alias y).
void lstm_sigmoid(const float* x, float* y, int64_t n, SimdPath path);

// y[k] = tanh(x[k]) for k < n with the approximation above on `path` (x may alias y).
void lstm_tanh(const float* x, float* y, int64_t n, SimdPath path);

// v2: ref::lstm_cell_forward<float> with the approximate activations, on up to `threads`
// threads; `path` avx512 uses AVX-512, any other path the portable loop.
void lstm_cell_forward_v2(const kernels::LstmCellDesc& d, const int64_t* lengths,
                          const float* gates, const float* c_prev, const float* h_prev, float* act,
                          float* c, float* h, float* y, int threads, SimdPath path);

// v2 on the pre-activations gates + gates2 (two (N, 4H) sums, added in the kernel: ConvLSTM's
// x-path and h-path convolutions, no separate add pass); gates2 null is lstm_cell_forward_v2.
// act may alias gates or gates2.
void lstm_cell_forward_sum_v2(const kernels::LstmCellDesc& d, const int64_t* lengths,
                              const float* gates, const float* gates2, const float* c_prev,
                              const float* h_prev, float* act, float* c, float* h, float* y,
                              int threads, SimdPath path);

// v2: ref::lstm_cell_backward<float> with the approximate tanh(c), on up to `threads` threads.
void lstm_cell_backward_v2(const kernels::LstmCellDesc& d, const int64_t* lengths, const float* act,
                           const float* c_prev, const float* c, const float* dy, float* dh,
                           float* dc, float* dgates, int threads, SimdPath path);

// lstm_cell_forward_sum_v2 on rows [b0, b1) and units [u0, u1) of each row only, on the calling
// thread (act may alias gates), row b's second addend at gates2 + b gates2_stride (stride 0: one
// 4H bias row for every row; gates2 may be null): the fused step kernels (lstm_steps.h) run
// chunks of units.
void lstm_cell_forward_units(const kernels::LstmCellDesc& d, const int64_t* lengths,
                             const float* gates, const float* gates2, int64_t gates2_stride,
                             const float* c_prev, const float* h_prev, float* act, float* c,
                             float* h, float* y, int64_t b0, int64_t b1, int64_t u0, int64_t u1,
                             SimdPath path);

// lstm_cell_backward_v2 on rows [b0, b1) and units [u0, u1) of each row only, on the calling
// thread.
void lstm_cell_backward_units(const kernels::LstmCellDesc& d, const int64_t* lengths,
                              const float* act, const float* c_prev, const float* c,
                              const float* dy, float* dh, float* dc, float* dgates, int64_t b0,
                              int64_t b1, int64_t u0, int64_t u1, SimdPath path);

}  // namespace signet::cpu
