// Shapes and strides: printing, contiguous strides, broadcasting and dim normalisation.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace signet {

using Shape = std::vector<int64_t>;

// "[2, 3]" for printing in messages.
std::string shape_str(const Shape& s);
// Product of the sizes (1 for a 0-d shape).
int64_t shape_numel(const Shape& s);
// Row-major strides, in elements, of a contiguous tensor of this shape.
Shape contiguous_strides(const Shape& s);
// The NumPy broadcast of two shapes; throws naming op and both shapes when they don't fit.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Maps a possibly negative dim into [0, ndim); throws naming op when out of range.
int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op);

}  // namespace signet
