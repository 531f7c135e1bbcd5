// The zero-padded input slab of the direct CPU convolutions (v3 conv_direct.cpp, v4
// conv_small_c.cpp): the input rows that a block of output rows of one output depth reads, every
// channel, with the padding written as zeros, so that their inner loops need no bounds checks.
// Kernels never allocate and never throw.
#pragma once
#include <cstdint>

#include "kernels/common/conv_desc.h"

namespace signet::cpu {

// A slab's layout: per channel `plane` floats of dspan depth slices x sh rows x pw columns (the
// input width plus both paddings).
struct SlabShape {
  int64_t dspan = 0, sh = 0, pw = 0, plane = 0;
};

// Writes every row of the slab: the `rows` input rows from output row oh0 of output depth od on
// (rows oh0 - pad .. of each depth slice od - pad ..) of image x (C planes) between zero padding
// columns, zeros for rows and slices outside the input and rows from `rows` on, and zeros from
// the end of the last plane up to zero_floats (a tail that vector loads may read).
void fill_conv_slab(const kernels::ConvDesc& d, const SlabShape& s, const float* x, int64_t od,
                    int64_t oh0, int64_t rows, float* slab, int64_t zero_floats);

}  // namespace signet::cpu
