// Strided dtype conversions on the device over a StridedDesc (operand 0 the destination, operand
// 1 the source): the ones cuda tensors need (u8 frames and i64 labels to f32, i64 and u8 copies
// of index and byte tensors); launchers return the launch status.
#pragma once
#include <cstdint>

#include "kernels/common/strided.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// out = float(in) at every point of d.
cudaError_t cast_f32_from_u8(const kernels::StridedDesc& d, const uint8_t* in, float* out);
// out = float(in) at every point of d (as static_cast: the nearest float).
cudaError_t cast_f32_from_i64(const kernels::StridedDesc& d, const int64_t* in, float* out);
// out = in at every point of d.
cudaError_t copy_i64(const kernels::StridedDesc& d, const int64_t* in, int64_t* out);
// out = in at every point of d.
cudaError_t copy_u8(const kernels::StridedDesc& d, const uint8_t* in, uint8_t* out);

}  // namespace signet::cuda
