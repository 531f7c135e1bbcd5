// Reference random fills: one Philox evaluation per element, no state between elements.
#include "kernels/reference/random.h"

#include "kernels/common/philox.h"

namespace signet::ref {

// Uniform [lo, hi) fill, element i from index i.
template <class T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t offset, T lo, T hi) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = lo + (hi - lo) * kernels::philox_uniform<T>(seed, offset, static_cast<uint64_t>(i));
}

// Normal (mean, stddev) fill, element i from index i.
template <class T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t offset, T mean, T stddev) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = mean + stddev * kernels::philox_normal<T>(seed, offset, static_cast<uint64_t>(i));
}

template void fill_uniform<float>(float*, int64_t, uint64_t, uint64_t, float, float);
template void fill_uniform<double>(double*, int64_t, uint64_t, uint64_t, double, double);
template void fill_normal<float>(float*, int64_t, uint64_t, uint64_t, float, float);
template void fill_normal<double>(double*, int64_t, uint64_t, uint64_t, double, double);

}  // namespace signet::ref
