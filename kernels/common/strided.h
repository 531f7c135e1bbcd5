// The n-d iteration space shared by elementwise kernels: a shape and, per operand, the stride
// (in elements) along each dimension. A stride of 0 broadcasts that operand along the dim.
#pragma once
#include <cstdint>

namespace signet::kernels {

constexpr int kMaxDims = 8;

// Operand 0 is the output, operands 1 and 2 the inputs.
struct StridedDesc {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t stride[3][kMaxDims] = {};
};

// Number of points in the iteration space.
inline int64_t strided_numel(const StridedDesc& d) {
  int64_t n = 1;
  for (int i = 0; i < d.ndim; ++i) n *= d.shape[i];
  return n;
}

}  // namespace signet::kernels
