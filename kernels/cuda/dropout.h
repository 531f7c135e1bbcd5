// Dropout on the cuda device with the Philox dropout stream: the mask rule of
// kernels/common/dropout_desc.h, so the mask equals the CPU's bit for bit (integer keep test on
// 16-bit half-words h >= ceil(p 2^16), exact as in kernels/cpu/dropout.cpp). The backward is
// the same kernel on dy: the mask is regenerated from (seed, offset), never stored.
#pragma once
#include "kernels/common/dropout_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// y[e] = keep(unit(first + e)) ? x[e] * scale : 0 for e in [0, n); launch status.
cudaError_t dropout_forward_f32(const kernels::DropoutDesc& d, const float* x, float* y);

}  // namespace signet::cuda
