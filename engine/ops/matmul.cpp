#include "engine/ops/matmul.h"

#include <algorithm>

#include "engine/autograd.h"
#include "engine/cuda_kernels.h"
#include "engine/dispatch.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/threads.h"
#include "kernels/reference/gemm.h"

namespace signet {
namespace {

using kernels::GemmDesc;
using Grads = std::vector<Tensor>;
using GemmFn = void (*)(const GemmDesc&, const void*, const void*, void*);

// Adapts ref::gemm<T> to the untyped dispatch signature.
template <class T>
void gemm_ref(const GemmDesc& d, const void* a, const void* b, void* c) {
  ref::gemm<T>(d, static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(c));
}

// v4: the packed SGEMM sharing packed B between threads; its panels live in a u8 workspace.
void gemm_v4_shared(const GemmDesc& d, const void* a, const void* b, void* c) {
  const int threads = cpu::default_threads();
  Tensor ws = empty({static_cast<int64_t>(cpu::sgemm_v4_workspace_bytes(d, threads))}, DType::u8);
  cpu::sgemm_v4_shared(d, static_cast<const float*>(a), static_cast<const float*>(b),
                       static_cast<float*>(c), ws.raw_data(), threads, cpu::active_simd_path());
}

// v5: op(B) read in place, never packed (short op(A) by a transposed B); its scratch is a u8
// workspace.
void gemm_v5_direct_b(const GemmDesc& d, const void* a, const void* b, void* c) {
  const int threads = cpu::default_threads();
  Tensor ws = empty({static_cast<int64_t>(cpu::sgemm_v5_workspace_bytes(d, threads))}, DType::u8);
  cpu::sgemm_v5_direct_b(d, static_cast<const float*>(a), static_cast<const float*>(b),
                         static_cast<float*>(c), ws.raw_data(), threads, cpu::active_simd_path());
}

// v5 where sgemm_v5_suits says (AVX-512, one product, transposed B, m <= 64, k >= 128: the
// LSTM step's X W^T).
bool v5_fits(const GemmDesc& d) {
  return cpu::sgemm_v5_suits(d, cpu::active_simd_path());
}

// v4 for one product or batch items of at least 2^21 multiply-adds; smaller batched items go to
// v3, whose threads take a block of every item without v4's barrier per packed block of B.
bool v4_fits(const GemmDesc& d) {
  return d.batch == 1 || d.m * d.n * d.k >= (int64_t{1} << 21);
}

// v3: the packed SGEMM on the active SIMD path; its panels live in a u8 workspace tensor.
void gemm_v3_packed(const GemmDesc& d, const void* a, const void* b, void* c) {
  const int threads = cpu::default_threads();
  Tensor ws = empty({static_cast<int64_t>(cpu::sgemm_workspace_bytes(d, threads))}, DType::u8);
  cpu::sgemm_v3_packed(d, static_cast<const float*>(a), static_cast<const float*>(b),
                       static_cast<float*>(c), ws.raw_data(), threads, cpu::active_simd_path());
}

// v2: the tiled SGEMM without packing (kept to compare; runs only when forced).
void gemm_v2_blocked(const GemmDesc& d, const void* a, const void* b, void* c) {
  cpu::sgemm_v2_blocked(d, static_cast<const float*>(a), static_cast<const float*>(b),
                        static_cast<float*>(c), cpu::default_threads());
}

// Versions never picked by themselves: cpu v2 (v3 and v4 are faster on every shape measured,
// bench/RESULTS.md), cuda v4 (changes the precision) and cuda v1 (the naive twin).
bool never(const GemmDesc&) {
  return false;
}

// How one (batch..., rows, cols) operand reaches the kernel: storage, layout and strides.
struct Operand {
  Tensor t;
  bool trans = false;
  int64_t ld = 0;
  int64_t batch_stride = 0;
};

// The one stride between consecutive items of x's flattened batch dims, or -1 if there is none.
int64_t flat_batch_stride(const Tensor& x) {
  int64_t stride = 0, next = -1;
  for (int64_t i = x.dim() - 3; i >= 0; --i) {
    if (x.shape()[i] == 1) continue;
    if (next < 0) {
      stride = x.strides()[i];
    } else if (x.strides()[i] != next) {
      return -1;
    }
    next = x.strides()[i] * x.shape()[i];
  }
  return stride;
}

// Passes x as stored when its matrices are row-major or transposed row-major with one batch
// stride, otherwise as a contiguous copy.
Operand operand(const Tensor& x) {
  const int64_t r = x.size(-2), c = x.size(-1);
  const int64_t sr = x.strides()[x.dim() - 2], sc = x.strides()[x.dim() - 1];
  const int64_t bs = flat_batch_stride(x);
  if (bs >= 0 && (c == 1 || sc == 1) && (r == 1 || sr >= c)) return {x, false, r == 1 ? c : sr, bs};
  if (bs >= 0 && (r == 1 || sr == 1) && (c == 1 || sc >= r)) return {x, true, c == 1 ? r : sc, bs};
  return {x.contiguous(), false, c, r * c};
}

// A 1-D left operand becomes one row (1, k).
Tensor lhs_matrix(const Tensor& a) {
  return a.dim() == 1 ? a.unsqueeze(0) : a;
}

// A 1-D right operand becomes one column (k, 1).
Tensor rhs_matrix(const Tensor& b) {
  return b.dim() == 1 ? b.unsqueeze(1) : b;
}

// The leading (batch) dims of a matrix stack.
Shape batch_dims(const Tensor& x) {
  return Shape(x.shape().begin(), x.shape().end() - 2);
}

// a (batch..., m, k) @ b (batch..., k, n) with broadcast batch dims, without autograd.
Tensor product(const Tensor& a, const Tensor& b) {
  static const dispatch::Op<GemmFn, GemmDesc> op{
      "matmul",
      {{"v5_direct_b", Device::Type::cpu, {{DType::f32, &gemm_v5_direct_b}}, &v5_fits},
       {"v4_shared", Device::Type::cpu, {{DType::f32, &gemm_v4_shared}}, &v4_fits},
       {"v3_packed", Device::Type::cpu, {{DType::f32, &gemm_v3_packed}}},
       {"v2_blocked", Device::Type::cpu, {{DType::f32, &gemm_v2_blocked}}, &never},
       {"v1_reference",
        Device::Type::cpu,
        {{DType::f32, &gemm_ref<float>}, {DType::f64, &gemm_ref<double>}}},
       // Register-tiled SIMT fp32 (128x128x8 block tile, 8x8 per thread): the cuda default.
       {"v3_cuda_register", Device::Type::cuda, {{DType::f32, &cuda_gemm_v3_f32}}},
       // tf32 tensor cores: inputs rounded to 10 mantissa bits, so only when forced.
       {"v4_cuda_tf32", Device::Type::cuda, {{DType::f32, &cuda_gemm_v4_tf32_f32}}, &never},
       // bf16 tensor cores (v6: fragments through ldmatrix): 7 mantissa bits, only when forced.
       {"v5_cuda_bf16", Device::Type::cuda, {{DType::f32, &cuda_gemm_v5_bf16_f32}}, &never},
       {"v6_cuda_bf16_ldmatrix",
        Device::Type::cuda,
        {{DType::f32, &cuda_gemm_v6_bf16_ldmatrix_f32}},
        &never},
       // One thread per element of C: the twin the faster versions are checked against.
       {"v1_cuda_naive", Device::Type::cuda, {{DType::f32, &cuda_gemm_f32}}, &never}}};
  NoGradGuard no_grad;
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  Shape batch = broadcast_shapes(batch_dims(a), batch_dims(b), "matmul");
  Shape out_shape = batch;
  out_shape.insert(out_shape.end(), {m, n});
  if (b.dim() == 2 && a.dim() > 2 && a.is_contiguous())
    return product(a.view({shape_numel(batch) * m, k}), b).view(out_shape);
  Shape sa = batch, sb = batch;
  sa.insert(sa.end(), {m, k});
  sb.insert(sb.end(), {k, n});
  Operand A = operand(a.expand(sa)), B = operand(b.expand(sb));
  Tensor c = empty(out_shape, a.dtype(), a.device());
  GemmDesc d;
  d.m = m;
  d.n = n;
  d.k = k;
  d.trans_a = A.trans;
  d.trans_b = B.trans;
  d.lda = A.ld;
  d.ldb = B.ld;
  d.ldc = n;
  d.batch = shape_numel(batch);
  d.stride_a = A.batch_stride;
  d.stride_b = B.batch_stride;
  d.stride_c = m * n;
  op.run(a.device(), a.dtype(), d, d, A.t.raw_data(), B.t.raw_data(), c.raw_data());
  return c;
}

// Refuses operands of other dtypes, mixed dtypes or mixed devices, naming op and both shapes.
void check_pair(const char* op, const Tensor& a, const Tensor& b) {
  check_defined(op, a);
  check_defined(op, b);
  check_dtype(op, a, {DType::f32, DType::f64});
  check_dtype(op, b, {DType::f32, DType::f64});
  SIGNET_CHECK(a.dtype() == b.dtype(), op, ": dtypes differ (", dtype_name(a.dtype()), " ",
               shape_str(a.shape()), " vs ", dtype_name(b.dtype()), " ", shape_str(b.shape()),
               "); convert one with .to()");
  SIGNET_CHECK(a.device() == b.device(), op, ": tensors on different devices (", a.device().str(),
               " vs ", b.device().str(), ")");
}

// Checks the shapes of matmul(a, b) and returns the result's shape (as torch.matmul).
Shape matmul_shape(const Tensor& a, const Tensor& b) {
  SIGNET_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least 1 dim, got ",
               shape_str(a.shape()), " and ", shape_str(b.shape()));
  const int64_t ka = a.size(-1), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
  SIGNET_CHECK(ka == kb, "matmul: ", shape_str(a.shape()), " and ", shape_str(b.shape()),
               ": inner dims ", ka, " != ", kb);
  Shape ba = a.dim() > 2 ? Shape(a.shape().begin(), a.shape().end() - 2) : Shape();
  Shape bb = b.dim() > 2 ? Shape(b.shape().begin(), b.shape().end() - 2) : Shape();
  const size_t nb = std::max(ba.size(), bb.size());
  Shape out(nb);
  for (size_t i = 0; i < nb; ++i) {
    const int64_t x = i + ba.size() >= nb ? ba[i + ba.size() - nb] : 1;
    const int64_t y = i + bb.size() >= nb ? bb[i + bb.size() - nb] : 1;
    SIGNET_CHECK(x == y || x == 1 || y == 1, "matmul: batch dims of ", shape_str(a.shape()),
                 " and ", shape_str(b.shape()), " do not broadcast");
    out[i] = x == 1 ? y : x;
  }
  if (a.dim() > 1) out.push_back(a.size(-2));
  if (b.dim() > 1) out.push_back(b.size(-1));
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_pair("matmul", a, b);
  Shape out_shape = matmul_shape(a, b);
  Tensor out;
  {
    NoGradGuard no_grad;
    out = product(lhs_matrix(a), rhs_matrix(b)).view(out_shape);
  }
  if (autograd::needs_grad({&a, &b})) {
    const bool need_a = a.requires_grad(), need_b = b.requires_grad();
    autograd::record(
        "MatmulBackward", {&a, &b}, {&out}, {a, b},
        [need_a, need_b](const Grads& g, const Grads& s) {
          Tensor a2 = lhs_matrix(s[0]), b2 = rhs_matrix(s[1]);
          Shape g_shape = broadcast_shapes(batch_dims(a2), batch_dims(b2), "matmul backward");
          g_shape.insert(g_shape.end(), {a2.size(-2), b2.size(-1)});
          Tensor g2 = g[0].reshape(g_shape);
          Grads out(2);
          if (need_a)
            out[0] = sum_to(product(g2, b2.transpose(-1, -2)), a2.shape()).reshape(s[0].shape());
          if (need_b && b2.dim() == 2 && a2.dim() > 2)
            out[1] = product(a2.reshape({-1, a2.size(-1)}).t(), g2.reshape({-1, b2.size(-1)}));
          else if (need_b)
            out[1] = sum_to(product(a2.transpose(-1, -2), g2), b2.shape());
          if (need_b) out[1] = out[1].reshape(s[1].shape());
          return out;
        });
  }
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_pair("linear", x, weight);
  SIGNET_CHECK(weight.dim() == 2, "linear: weight must be (out_features, in_features), got ",
               shape_str(weight.shape()));
  SIGNET_CHECK(x.dim() >= 1, "linear: input must have at least 1 dim, got ", shape_str(x.shape()));
  SIGNET_CHECK(x.size(-1) == weight.size(1), "linear: input ", shape_str(x.shape()), " and weight ",
               shape_str(weight.shape()), ": in_features ", x.size(-1), " != ", weight.size(1));
  if (bias.defined()) {
    check_pair("linear", bias, weight);
    SIGNET_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "linear: bias ",
                 shape_str(bias.shape()), " and weight ", shape_str(weight.shape()),
                 ": expected bias [", weight.size(0), "]");
  }
  Tensor y = matmul(x, weight.t());
  return bias.defined() ? add(y, bias) : y;
}

}  // namespace signet
