// Indexing along the middle axis: input contiguous (outer, dim_in, inner), output contiguous
// (outer, dim_out, inner).
#pragma once
#include <cstdint>

namespace signet::kernels {

struct IndexDesc {
  int64_t outer = 1, dim_in = 1, dim_out = 1, inner = 1;
};

}  // namespace signet::kernels
