// Reduction of an n-d tensor over a set of dimensions: the kept dims index the output, the
// reduced dims are walked for each output element.
#pragma once
#include <cstdint>

#include "kernels/common/strided.h"

namespace signet::kernels {

enum class ReduceOp : uint8_t { sum, max, min };

struct ReduceDesc {
  int nkeep = 0;  // kept dims (may be 0: a full reduction has one output element)
  int64_t keep_shape[kMaxDims] = {};
  int64_t keep_in_stride[kMaxDims] = {};   // input strides along kept dims
  int64_t keep_out_stride[kMaxDims] = {};  // output (and arg) strides along kept dims
  int nred = 0;                            // reduced dims, row-major order
  int64_t red_shape[kMaxDims] = {};
  int64_t red_in_stride[kMaxDims] = {};
};

}  // namespace signet::kernels
