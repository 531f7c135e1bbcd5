// Fast CPU elementwise kernels (v2): a contiguous output and inputs that are dense, one value, or
// one row repeated (bias-style broadcast), vectorised by the compiler (an AVX-512 twin chosen at
// run time) and split over threads above a size threshold. Anything else runs the reference.
#pragma once
#include <cstdint>

#include "kernels/common/elementwise_desc.h"
#include "kernels/common/strided.h"
#include "kernels/cpu/cpu_features.h"

namespace signet::cpu {

// How one input of a v2 kernel is laid out against the contiguous output.
enum class InputLayout : uint8_t {
  dense,   // the output's layout: element i of the output reads element i
  scalar,  // one value read by every output element
  row,     // `inner` values repeated: element i reads element i % inner
};

// A StridedDesc reduced to what v2 runs: n contiguous output elements and the inputs' layouts
// (both row inputs, when two, repeat with the same period inner).
struct FlatLayout {
  int64_t n = 0;
  int64_t inner = 1;
  InputLayout in[2] = {InputLayout::dense, InputLayout::dense};
};

// Below this many elements a v2 kernel runs on the calling thread (a fork costs more).
constexpr int64_t kElementwiseParallelMin = int64_t{1} << 15;

// True, with *out filled, when d's output is contiguous and each of its first `inputs` inputs
// is dense, scalar or row (see InputLayout); false when v2 cannot run d.
bool flat_layout(const kernels::StridedDesc& d, int inputs, FlatLayout* out);

// out = f(a) over l (f32 or f64) on up to `threads` threads; `path` picks the SIMD twin.
template <class T>
void unary_v2(kernels::UnaryOp op, kernels::ElementwiseParams p, const FlatLayout& l, const T* a,
              T* out, int threads, SimdPath path);

// out = f(a, b) over l (f32 or f64) on up to `threads` threads; `path` picks the SIMD twin.
template <class T>
void binary_v2(kernels::BinaryOp op, kernels::ElementwiseParams p, const FlatLayout& l, const T* a,
               const T* b, T* out, int threads, SimdPath path);

// out = a over l without conversion (any trivially copyable T; out must not overlap a).
template <class T>
void copy_v2(const FlatLayout& l, const T* a, T* out, int threads);

// A copy into a contiguous output (batch, rows, cols) from an input whose innermost stride is
// not 1 (a transposed or permuted view): out[(b * rows + r) * cols + c] =
// a[b * stride_b + r * stride_r + c * stride_c].
struct TransposeLayout {
  int64_t batch = 1, rows = 1, cols = 1;
  int64_t stride_b = 0, stride_r = 0, stride_c = 0;
};

// True, with *out filled, when d (one input) has a contiguous output and an input that, after
// merging dims, has at most three dims and an innermost stride other than 1.
bool transpose_layout(const kernels::StridedDesc& d, TransposeLayout* out);

// out = a over l in square tiles (so the input's lines are reused from cache), tile rows split
// over up to `threads` threads.
template <class T>
void copy_tiled_v3(const TransposeLayout& l, const T* a, T* out, int threads);

// out[0, n) = value.
template <class T>
void fill_v2(int64_t n, T value, T* out, int threads);

}  // namespace signet::cpu
