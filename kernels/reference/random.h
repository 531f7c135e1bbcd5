// Reference random fills: element i of the output is element i of the Philox sequence named
// by (seed, offset), mapped as written down in kernels/common/philox.h.
#pragma once
#include <cstdint>

namespace signet::ref {

// out[i] = lo + (hi - lo) * philox_uniform<T>(seed, offset, i) for i < n; uses the counters
// (offset, block) for block < philox_blocks<T>(n).
template <class T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset, T lo, T hi);

// out[i] = mean + stddev * philox_normal<T>(seed, offset, i) for i < n; uses the counters
// (offset, block) for block < philox_blocks<T>(n).
template <class T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t offset, T mean, T stddev);

}  // namespace signet::ref
