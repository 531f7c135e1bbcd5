// Layer norm on the cuda device (kernels/cuda/layer_norm.h, v1_cuda of layer_norm and
// layer_norm_backward) against the cpu op on the same f32 inputs: y, dx, dweight and dbias on odd
// shapes (rows 1, 7, 33 x cols 1, 5, 257, and a 2-D normalized_shape), with and without weight
// and bias; and bit-for-bit repeatability of a run (fixed trees, no atomics).
//
// Tolerance (absolute): inputs x in [-2.5, 3.5), weight in [0.5, 2.5), bias and dy in [-1, 1).
// Both sides compute in f32 and differ only in summation order: the row sums (cols <= 257 terms)
// carry a relative error of at most about log2(cols) + 2 ~ 10 ulp in the tree and cols ulp in a
// sequential order; cancellation is avoided on both sides (two-pass variance), so mean and rstd
// agree to ~300 ulp = 2e-5 relative at worst. y = xhat w + b and dx = rstd (g - mean(g) -
// xhat mean(g xhat)) are O(5) (|xhat| < 2 for uniform rows, rstd < 1 for cols >= 5; for cols 1,
// xhat = 0 and dx = 0 exactly), so kTol = 1e-4 bounds 5 * 2e-5. dweight and dbias add up to 33
// row terms of size <= 2 each carrying that error: kSumTol = 33 * 2 * 2e-5 ~ 1e-3 worst case;
// 5e-4 is used since the errors of random terms do not all align.

#include <gtest/gtest.h>

#include <string>

#include "engine/autograd.h"
#include "engine/cuda_device.h"
#include "engine/ops.h"
#include "engine/ops/norm.h"
#include "engine/tensor.h"
#include "tests/support/cuda_compare.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

using testing::expect_device_bitwise;
using testing::expect_device_close;
using testing::random_cpu;

constexpr double kTol = 1e-4;
constexpr double kSumTol = 5e-4;

// The random inputs of one case: x of shape, weight and bias of normalized shape, and dy.
struct LnInputs {
  Tensor x, w, b, g;
};

// Inputs of the case with the ranges of the file header.
LnInputs make_inputs(const Shape& shape, const Shape& norm_shape, unsigned seed) {
  return {random_cpu(shape, seed) * 3.0 + 0.5, random_cpu(norm_shape, seed + 1) + 1.5,
          random_cpu(norm_shape, seed + 2), random_cpu(shape, seed + 3)};
}

// The results of layer_norm and its backward on one device: y and the gradients of x, weight,
// bias (the last two undefined without affine).
struct LnResults {
  Tensor y, dx, dw, db;
};

// Runs layer_norm forward and backward of sum(y dy) on device dev.
LnResults run_layer_norm(const LnInputs& in, const Shape& norm_shape, bool affine,
                         const Device& dev) {
  Tensor x = in.x.to(dev).detach(), w = in.w.to(dev).detach(), b = in.b.to(dev).detach();
  for (Tensor* t : {&x, &w, &b}) t->requires_grad_();
  const Tensor y = layer_norm(x, norm_shape, affine ? w : Tensor(), affine ? b : Tensor(), 1e-5);
  sum(mul(y, in.g.to(dev))).backward();
  return {y.detach(), x.grad(), affine ? w.grad() : Tensor(), affine ? b.grad() : Tensor()};
}

// Compares the cuda forward and gradients with the cpu ones on one case.
void compare_layer_norm(const Shape& shape, const Shape& norm_shape, bool affine, unsigned seed) {
  const std::string what = "layer norm " + shape_str(shape) + " over " + shape_str(norm_shape) +
                           (affine ? " affine" : "");
  const LnInputs in = make_inputs(shape, norm_shape, seed);
  const LnResults c = run_layer_norm(in, norm_shape, affine, Device::cpu());
  const LnResults d = run_layer_norm(in, norm_shape, affine, Device::cuda(0));
  expect_device_close(d.y, c.y, kTol, what + " y");
  expect_device_close(d.dx, c.dx, kTol, what + " dx");
  if (!affine) return;
  expect_device_close(d.dw, c.dw, kSumTol, what + " dweight");
  expect_device_close(d.db, c.db, kSumTol, what + " dbias");
}

TEST(CudaLayerNorm, ForwardAndGradientsMatchCpuOnOddShapes) {
  unsigned seed = 100;
  for (int64_t rows : {1, 7, 33})
    for (int64_t cols : {1, 5, 257})
      for (bool affine : {true, false}) compare_layer_norm({rows, cols}, {cols}, affine, seed += 4);
}

TEST(CudaLayerNorm, MultiDimNormalizedShapeMatchesCpu) {
  compare_layer_norm({3, 11, 7}, {11, 7}, true, 7);  // rows 3, cols 77
  compare_layer_norm({2, 5, 3, 9}, {9}, true, 8);    // rows 30, cols 9
  compare_layer_norm({70, 3}, {3}, true, 9);         // more rows than one dweight chunk (64)
}

TEST(CudaLayerNorm, RunsRepeatBitForBit) {
  const Shape shape{33, 257}, norm{257};
  const LnInputs in = make_inputs(shape, norm, 21);
  const LnResults a = run_layer_norm(in, norm, true, Device::cuda(0));
  const LnResults b = run_layer_norm(in, norm, true, Device::cuda(0));
  expect_device_bitwise(b.y, a.y.cpu(), "y");
  expect_device_bitwise(b.dx, a.dx.cpu(), "dx");
  expect_device_bitwise(b.dw, a.dw.cpu(), "dweight");
  expect_device_bitwise(b.db, a.db.cpu(), "dbias");
}

}  // namespace
}  // namespace signet
