// Dropout with masks from the Philox dropout stream (rule in kernels/common/dropout_desc.h):
// each call in training takes dropout_blocks(units) counters from the stream, one 16-bit
// half-word per unit (an element, or an (n, c) channel for the 2d/3d forms, in row-major order),
// for f32 and f64 alike. Kept values are scaled by 1 / (1 - p). Not training, or p = 0: x itself
// is returned and no counters are taken. The backward regenerates the mask from (seed, offset).
#pragma once
#include "engine/random.h"
#include "engine/tensor.h"

namespace signet {

// Drops each element with probability p.
Tensor dropout(const Tensor& x, double p, bool training, RngStream& stream);
// Drops whole channels of x (N, C, H, W) or (C, H, W).
Tensor dropout2d(const Tensor& x, double p, bool training, RngStream& stream);
// Drops whole channels of x (N, C, D, H, W) or (C, D, H, W).
Tensor dropout3d(const Tensor& x, double p, bool training, RngStream& stream);

}  // namespace signet
