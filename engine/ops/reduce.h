// Reductions over dims (keepdim as PyTorch), forward and backward.
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace signet {

// Sum over dims (every dim when empty).
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Mean over dims (every dim when empty).
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Maximum over dims (every dim when empty); the gradient goes to the first maximum.
Tensor max(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Minimum over dims (every dim when empty); the gradient goes to the first minimum.
Tensor min(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Index (i64) of the first maximum along dim.
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
// Sums a broadcast gradient back down to shape (the backward of broadcasting).
Tensor sum_to(const Tensor& g, const Shape& shape);

}  // namespace signet
