// Reference dropout: y = x * keep * scale with the mask rule of kernels/common/dropout_desc.h.
// The backward is the same kernel on dy (the mask is regenerated, never stored).
#pragma once
#include <cstdint>

#include "kernels/common/dropout_desc.h"

namespace signet::ref {

// y[e] = keep(unit(e)) ? x[e] * scale : 0 for e in [0, n).
template <class T>
void dropout_forward(const kernels::DropoutDesc& d, const T* x, T* y);

// mask[e] = 1 when unit(e) is kept, else 0 (for tests and inspection).
void dropout_mask(const kernels::DropoutDesc& d, uint8_t* mask);

}  // namespace signet::ref
