// The v2 CPU elementwise kernels (kernels/cpu/elementwise.h) against the reference on the same
// bytes: every op, f32 and f64, each input layout v2 takes (dense, scalar, row), odd sizes on
// both sides of the threading threshold, 1 and 2 threads, each SIMD path this CPU runs; then the
// layout rule, the dispatch selection and forcing through the engine ops.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/ops/elementwise.h"
#include "engine/ops/kernel_args.h"
#include "engine/random.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/reference/elementwise.h"
#include "tests/support/expect_error.h"

namespace signet {
namespace {

using cpu::FlatLayout;
using cpu::InputLayout;
using cpu::SimdPath;
using kernels::BinaryOp;
using kernels::ElementwiseParams;
using kernels::StridedDesc;
using kernels::UnaryOp;

// One broadcasting problem: output shape and the two input shapes.
struct Case {
  Shape out, a, b;
};

// Dense/dense, scalars on either side, rows on either or both sides, odd sizes, and one
// problem above kElementwiseParallelMin so the threaded split (with row segments) runs.
std::vector<Case> cases() {
  return {{{1}, {1}, {1}},
          {{7}, {7}, {7}},
          {{33, 17}, {33, 17}, {}},
          {{33, 17}, {}, {33, 17}},
          {{33, 17}, {33, 17}, {17}},
          {{33, 17}, {1, 17}, {33, 17}},
          {{5, 3, 13}, {3, 13}, {1, 3, 13}},
          {{3077, 13}, {3077, 13}, {13}},
          {{40013}, {40013}, {40013}}};
}

// Random values of dtype T in [-2, 2) with exact zeros sprinkled in (relu/abs kinks).
template <class T>
Tensor values(const Shape& shape, uint64_t seed) {
  RngStream s = init_stream(seed);
  Tensor t = (rand(shape, dtype_of<T>::value, &s) * 4.0 - 2.0).contiguous();
  T* p = t.data<T>();
  for (int64_t i = 2; i < t.numel(); i += 5) p[i] = T(0);
  return t;
}

// Expects got and want to hold the same bits (so NaN results compare equal to NaN).
template <class T>
void expect_same_bits(const std::vector<T>& got, const std::vector<T>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  if (std::memcmp(got.data(), want.data(), got.size() * sizeof(T)) == 0) return;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(T)), 0)
        << what << " element " << i << ": " << got[i] << " vs " << want[i];
}

// The StridedDesc of out = f(a, b) at c, as the engine builds it.
StridedDesc desc_of(const Case& c, const Tensor& a, const Tensor& b, const Tensor& out) {
  return strided_desc("test", c.out, out.strides(), broadcast_strides(a, c.out),
                      broadcast_strides(b, c.out));
}

// Every binary op on every case, threads and path: v2 equals the reference bit for bit.
template <class T>
void check_binary_ops() {
  const BinaryOp ops[] = {BinaryOp::add,           BinaryOp::sub,
                          BinaryOp::mul,           BinaryOp::div,
                          BinaryOp::relu_backward, BinaryOp::leaky_relu_backward,
                          BinaryOp::gelu_backward, BinaryOp::clamp_backward,
                          BinaryOp::abs_backward,  BinaryOp::sigmoid_backward,
                          BinaryOp::tanh_backward};
  const ElementwiseParams p{-0.5, 0.75};
  for (const Case& c : cases()) {
    Tensor a = values<T>(c.a, 1), b = values<T>(c.b, 2);
    Tensor want = empty(c.out, dtype_of<T>::value), got = empty(c.out, dtype_of<T>::value);
    StridedDesc d = desc_of(c, a, b, want);
    FlatLayout l;
    ASSERT_TRUE(cpu::flat_layout(d, 2, &l)) << shape_str(c.out);
    for (BinaryOp op : ops) {
      ref::binary<T>(op, p, d, a.data<T>(), b.data<T>(), want.data<T>());
      for (int threads : {1, 2})
        for (SimdPath path : signet::cpu::supported_simd_paths()) {
          std::memset(got.raw_data(), 0xff, static_cast<size_t>(got.numel()) * sizeof(T));
          cpu::binary_v2<T>(op, p, l, a.data<T>(), b.data<T>(), got.data<T>(), threads, path);
          std::string what = "binary op " + std::to_string(static_cast<int>(op)) + " " +
                             shape_str(c.a) + " by " + shape_str(c.b) + " t" +
                             std::to_string(threads) + " " + cpu::simd_path_name(path);
          expect_same_bits(got.to_vector<T>(), want.to_vector<T>(), what.c_str());
        }
    }
  }
}

TEST(ElementwiseCpu, BinaryOpsMatchReferenceF32) {
  check_binary_ops<float>();
}

TEST(ElementwiseCpu, BinaryOpsMatchReferenceF64) {
  check_binary_ops<double>();
}

// Every unary op on dense, scalar and row inputs: v2 equals the reference bit for bit.
template <class T>
void check_unary_ops() {
  const UnaryOp ops[] = {UnaryOp::copy,      UnaryOp::neg,  UnaryOp::exp,        UnaryOp::log,
                         UnaryOp::sqrt,      UnaryOp::abs,  UnaryOp::relu,       UnaryOp::sigmoid,
                         UnaryOp::tanh,      UnaryOp::gelu, UnaryOp::pow_scalar, UnaryOp::clamp,
                         UnaryOp::leaky_relu};
  const ElementwiseParams p{-0.5, 0.75};
  for (const Case& c : cases()) {
    Tensor a = values<T>(c.a, 3);
    Tensor want = empty(c.out, dtype_of<T>::value), got = empty(c.out, dtype_of<T>::value);
    StridedDesc d = strided_desc("test", c.out, want.strides(), broadcast_strides(a, c.out));
    FlatLayout l;
    ASSERT_TRUE(cpu::flat_layout(d, 1, &l)) << shape_str(c.out);
    for (UnaryOp op : ops) {
      ref::unary<T>(op, p, d, a.data<T>(), want.data<T>());
      for (int threads : {1, 2})
        for (SimdPath path : signet::cpu::supported_simd_paths()) {
          std::memset(got.raw_data(), 0xff, static_cast<size_t>(got.numel()) * sizeof(T));
          cpu::unary_v2<T>(op, p, l, a.data<T>(), got.data<T>(), threads, path);
          std::string what = "unary op " + std::to_string(static_cast<int>(op)) + " " +
                             shape_str(c.a) + " t" + std::to_string(threads) + " " +
                             cpu::simd_path_name(path);
          expect_same_bits(got.to_vector<T>(), want.to_vector<T>(), what.c_str());
        }
    }
  }
}

TEST(ElementwiseCpu, UnaryOpsMatchReferenceF32) {
  check_unary_ops<float>();
}

TEST(ElementwiseCpu, UnaryOpsMatchReferenceF64) {
  check_unary_ops<double>();
}

// copy_v2 and fill_v2 on every dtype equal ref::cast (same dtype) and ref::fill.
template <class T>
void check_copy_fill(DType dtype) {
  for (const Case& c : cases()) {
    Tensor a = values<double>(c.a, 4).to(dtype);
    Tensor want = empty(c.out, dtype), got = empty(c.out, dtype);
    StridedDesc d = strided_desc("test", c.out, want.strides(), broadcast_strides(a, c.out));
    FlatLayout l;
    ASSERT_TRUE(cpu::flat_layout(d, 1, &l));
    ref::cast<T, T>(d, a.data<T>(), want.data<T>());
    for (int threads : {1, 2}) {
      std::memset(got.raw_data(), 0, static_cast<size_t>(got.numel()) * sizeof(T));
      cpu::copy_v2<T>(l, a.data<T>(), got.data<T>(), threads);
      expect_same_bits(got.to_vector<T>(), want.to_vector<T>(), dtype_name(dtype));
    }
    const T value = a.data<T>()[0];
    ref::fill<T>(d, value, want.data<T>());
    for (int threads : {1, 2}) {
      cpu::fill_v2<T>(got.numel(), value, got.data<T>(), threads);
      expect_same_bits(got.to_vector<T>(), want.to_vector<T>(), dtype_name(dtype));
    }
  }
}

TEST(ElementwiseCpu, CopyAndFillMatchReferenceOnEveryDtype) {
  check_copy_fill<float>(DType::f32);
  check_copy_fill<double>(DType::f64);
  check_copy_fill<int64_t>(DType::i64);
  check_copy_fill<uint8_t>(DType::u8);
}

// copy_tiled_v3 of a into a contiguous tensor equals ref::cast (same dtype) on threads 1 and 2.
template <class T>
void check_tiled_copy(const Tensor& a) {
  Tensor want = empty(a.shape(), a.dtype()), got = empty(a.shape(), a.dtype());
  StridedDesc d = strided_desc("test", a.shape(), want.strides(), a.strides());
  cpu::TransposeLayout l;
  ASSERT_TRUE(cpu::transpose_layout(d, &l)) << shape_str(a.shape());
  const T* src = static_cast<const T*>(a.raw_data());
  ref::cast<T, T>(d, src, want.data<T>());
  for (int threads : {1, 2}) {
    std::memset(got.raw_data(), 0, static_cast<size_t>(got.numel()) * sizeof(T));
    cpu::copy_tiled_v3<T>(l, src, got.data<T>(), threads);
    expect_same_bits(got.to_vector<T>(), want.to_vector<T>(), shape_str(a.shape()).c_str());
  }
}

TEST(ElementwiseCpu, TiledCopyOfTransposedViewsMatchesReference) {
  // Transposes of odd sizes (one beyond the threading threshold), a batched transpose, a
  // permutation that merges into three dims, and a broadcast column.
  check_tiled_copy<float>(values<float>({37, 29}, 8).t());
  check_tiled_copy<float>(values<float>({211, 203}, 9).t());
  check_tiled_copy<double>(values<double>({3, 17, 5}, 10).transpose(1, 2));
  check_tiled_copy<float>(values<float>({4, 3, 5, 7}, 11).permute({0, 3, 1, 2}));
  check_tiled_copy<float>(values<float>({19, 1}, 12).expand({19, 23}));
  check_tiled_copy<int64_t>(values<double>({13, 7}, 13).to(DType::i64).t());
  check_tiled_copy<uint8_t>(values<double>({13, 7}, 14).to(DType::u8).t());
  cpu::TransposeLayout l;
  Tensor x = zeros({4, 5, 6});
  auto layout = [&](const Tensor& src) {
    Tensor out = empty(src.shape());
    return cpu::transpose_layout(strided_desc("test", src.shape(), out.strides(), src.strides()),
                                 &l);
  };
  EXPECT_FALSE(layout(x));                                          // contiguous: v2's
  EXPECT_FALSE(layout(zeros({2, 3, 4, 5}).permute({3, 2, 1, 0})));  // four dims that do not merge
  EXPECT_TRUE(layout(x.permute({0, 2, 1})));
  EXPECT_EQ(l.batch, 4);
  EXPECT_EQ(l.rows, 6);
  EXPECT_EQ(l.cols, 5);
  EXPECT_EQ(l.stride_c, 6);
}

// flat_layout of out = f(a, b) for the given input tensors.
bool layout_of(const Tensor& a, const Tensor& b, FlatLayout* l) {
  Shape shape = broadcast_shapes(a.shape(), b.shape(), "test");
  Tensor out = empty(shape);
  return cpu::flat_layout(strided_desc("test", shape, out.strides(), broadcast_strides(a, shape),
                                       broadcast_strides(b, shape)),
                          2, l);
}

TEST(ElementwiseCpu, LayoutRuleTakesDenseScalarAndRowInputsOnly) {
  FlatLayout l;
  ASSERT_TRUE(layout_of(zeros({4, 6, 5}), zeros({6, 5}), &l));
  EXPECT_EQ(l.n, 120);
  EXPECT_EQ(l.inner, 30);
  EXPECT_EQ(l.in[0], InputLayout::dense);
  EXPECT_EQ(l.in[1], InputLayout::row);
  ASSERT_TRUE(layout_of(zeros({}), zeros({4, 1, 5}), &l));
  EXPECT_EQ(l.in[0], InputLayout::scalar);
  EXPECT_EQ(l.in[1], InputLayout::dense);
  // A column (4, 1) or a channel (1, 6, 1) broadcast is neither dense, scalar nor a row.
  EXPECT_FALSE(layout_of(zeros({4, 5}), zeros({4, 1}), &l));
  EXPECT_FALSE(layout_of(zeros({4, 6, 5}), zeros({1, 6, 1}), &l));
  // Two rows of different periods, and a transposed input.
  EXPECT_FALSE(layout_of(zeros({1, 6, 5}).expand({4, 6, 5}), zeros({5}), &l));
  EXPECT_FALSE(layout_of(zeros({5, 4}).t(), zeros({4, 5}), &l));
  // Dims of size 1 may carry any stride.
  ASSERT_TRUE(layout_of(zeros({4, 1, 5}).permute({1, 0, 2}), zeros({1, 4, 5}), &l));
  EXPECT_EQ(l.in[0], InputLayout::dense);
}

// Runs fn with SIGNET_IMPL_<op>=impl set, then unsets it.
template <class Fn>
auto forced(const char* op, const char* impl, Fn fn) {
  std::string var = std::string("SIGNET_IMPL_") + op;
  setenv(var.c_str(), impl, 1);
  struct Unset {
    std::string v;
    ~Unset() { unsetenv(v.c_str()); }
  } unset{var};
  return fn();
}

TEST(ElementwiseCpu, OpsChooseV2AndFallBackToReferenceOnStridedInputs) {
  Tensor x = values<float>({37, 29}, 5), bias = values<float>({29}, 6);
  auto run = [&] {
    return std::vector<std::vector<float>>{
        relu(x).to_vector<float>(), add(x, bias).to_vector<float>(), relu(x.t()).to_vector<float>(),
        mul(x.t(), x.t()).to_vector<float>()};
  };
  auto by_v1 = [&] {
    return forced("relu", "v1_reference", [&] {
      return forced("add", "v1_reference", [&] { return forced("mul", "v1_reference", run); });
    });
  };
  std::vector<std::vector<float>> ours = run(), ref = by_v1();
  for (size_t i = 0; i < ours.size(); ++i) expect_same_bits(ours[i], ref[i], "op");
  Tensor dst = empty({29, 37});
  copy_into(dst, x.t());
  std::vector<float> want = x.t().contiguous().to_vector<float>();
  expect_same_bits(dst.to_vector<float>(), want, "strided copy");
}

TEST(ElementwiseCpu, ForcedV2RefusesWhatItCannotRun) {
  Tensor x = values<float>({5, 7}, 7);
  testing::expect_error([&] { forced("relu", "v2_contiguous", [&] { return relu(x.t()); }); },
                        {"relu", "v2_contiguous", "[7, 5] (strided)"});
  testing::expect_error(
      [&] { forced("add", "v2_contiguous", [&] {
              return add(x, zeros({5, 1}));
            }); },
      {"add", "v2_contiguous", "[5, 1]"});
  testing::expect_error(
      [&] {
        forced("copy", "v2_contiguous", [&] {
          copy_into(x, zeros({5, 7}, DType::f64));
          return 0;
        });
      },
      {"copy", "v2_contiguous", "f64"});
  testing::expect_error(
      [&] {
        forced("fill", "v2_contiguous", [&] {
          fill_into(x.t(), 1.0);
          return 0;
        });
      },
      {"fill", "v2_contiguous", "strided"});
  testing::expect_error(
      [&] {
        forced("copy", "v3_tiled", [&] {
          copy_into(empty({5, 7}), x);
          return 0;
        });
      },
      {"copy", "v3_tiled", "innermost stride"});
  Tensor dst = empty({7, 5});
  forced("copy", "v3_tiled", [&] {
    copy_into(dst, x.t());
    return 0;
  });
  expect_same_bits(dst.to_vector<float>(), x.t().contiguous().to_vector<float>(), "forced v3");
  Tensor ok = forced("relu", "v2_contiguous", [&] { return relu(x); });
  expect_same_bits(ok.to_vector<float>(), relu(x).to_vector<float>(), "forced v2");
}

}  // namespace
}  // namespace signet
