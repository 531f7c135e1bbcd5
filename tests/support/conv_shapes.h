// Convolution descriptors for tests, built from per-dimension sizes with the output sizes
// computed by the usual formula.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/shape.h"
#include "kernels/common/conv_desc.h"

namespace signet::testing {

// A descriptor from per-dim lists of 2 or 3 values each (filling the last slots), out[] computed.
kernels::ConvDesc conv_desc(int64_t n, int64_t c, int64_t k, int64_t groups, Shape in, Shape kernel,
                            Shape stride, Shape pad, Shape dil);

// A descriptor from lists of all three (D, H, W) slots (2-D problems leave slot 0 trivial),
// out[] computed.
kernels::ConvDesc conv_desc(int dims, int64_t n, int64_t c, int64_t k, int64_t groups,
                            std::vector<int64_t> in, std::vector<int64_t> kernel,
                            std::vector<int64_t> stride, std::vector<int64_t> pad,
                            std::vector<int64_t> dilation);

// "n2 c6 k10 g2 in 1x15x14 kernel 1x3x2 stride 1,1,1 pad 0,2,0 dil 1,2,2" for traces.
std::string conv_name(const kernels::ConvDesc& d);

}  // namespace signet::testing
