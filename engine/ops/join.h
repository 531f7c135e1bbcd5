// Joining and indexing: cat, stack, index_select, gather.
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace signet {

// Concatenates along dim; all other dims must match.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
// Stacks along a new dim; all shapes must match.
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);
// Rows of x along dim picked by the i64 vector index (repeats allowed).
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// out[..., j, ...] = x[..., index[..., j, ...], ...] along dim; index (i64) has x's shape except
// along dim.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);

}  // namespace signet
