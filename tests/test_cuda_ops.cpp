// Ops on cuda tensors against the same ops on the cpu, on odd shapes: unary, broadcasting
// binary, scalar operands (passed by value), sum/mean, max/min/argmax and their backward, dtype
// conversions, matmul/linear, softmax/log-softmax, and backward through a small graph.
// Tolerances: the device math (expf, tanhf, ...) and the tree order of the sums may differ from
// the cpu by a few ulps, so values are compared within 1e-5 absolute on O(1) data (sums of n
// terms: n * 1e-6); max/min, argmax and conversions are exact.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/autograd.h"
#include "engine/cuda_allocator.h"
#include "engine/cuda_kernels.h"
#include "engine/ops.h"
#include "engine/tensor.h"
#include "tests/support/cuda_compare.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

using testing::expect_close;
using testing::expect_device_close;
using testing::expect_error;
using testing::random_cpu;
using testing::uniform_floats;

constexpr double kTol = 1e-5;

TEST(CudaOps, UnaryOpsMatchCpu) {
  const Tensor x = random_cpu({3, 5, 7}, 11) * 3.0;
  const Tensor pos = abs(x) + 0.1;
  const Tensor dx = x.cuda(), dpos = pos.cuda();
  expect_device_close(neg(dx), neg(x), kTol, "neg");
  expect_device_close(relu(dx), relu(x), kTol, "relu");
  expect_device_close(sigmoid(dx), sigmoid(x), kTol, "sigmoid");
  expect_device_close(tanh(dx), tanh(x), kTol, "tanh");
  expect_device_close(exp(dx), exp(x), kTol * 20, "exp");  // values up to e^3
  expect_device_close(log(dpos), log(pos), kTol, "log");
  expect_device_close(sqrt(dpos), sqrt(pos), kTol, "sqrt");
  expect_device_close(abs(dx), abs(x), 0.0, "abs");
  // A non-contiguous input.
  expect_device_close(tanh(dx.transpose(0, 2)), tanh(x.transpose(0, 2)), kTol, "tanh of a view");
}

TEST(CudaOps, BinaryOpsBroadcastLikeCpu) {
  const Tensor a = random_cpu({3, 1, 7}, 21);
  const Tensor b = random_cpu({5, 1}, 22) + 2.0;  // away from 0 for div
  const Tensor da = a.cuda(), db = b.cuda();
  Tensor s = add(da, db);
  EXPECT_EQ(s.shape(), (Shape{3, 5, 7}));
  expect_device_close(s, add(a, b), kTol, "add");
  expect_device_close(sub(da, db), sub(a, b), kTol, "sub");
  expect_device_close(mul(da, db), mul(a, b), kTol, "mul");
  expect_device_close(div(da, db), div(a, b), kTol, "div");
  expect_device_close(div(db, da.transpose(0, 2)), div(b, a.transpose(0, 2)), 1e-3,
                      "div by a view");  // |1/a| can be large: relative 1e-6 of it
}

TEST(CudaOps, ScalarOpsMatchCpu) {
  const Tensor x = random_cpu({4, 9}, 31);
  const Tensor d = x.cuda();
  expect_device_close(d * 2.5, x * 2.5, kTol, "x * 2.5");
  expect_device_close(d + 1.0, x + 1.0, kTol, "x + 1");
  expect_device_close(3.0 - d, 3.0 - x, kTol, "3 - x");
  expect_device_close(d / 4.0, x / 4.0, kTol, "x / 4");
  Tensor acc = d.clone();
  acc.add_(d, 0.5);
  acc.mul_(-2.0);
  Tensor want = x.clone();
  want.add_(x, 0.5);
  want.mul_(-2.0);
  expect_device_close(acc, want, kTol, "add_ and mul_");
}

TEST(CudaOps, SumAndMeanMatchCpu) {
  const Tensor x = random_cpu({3, 5, 7}, 41);
  const Tensor d = x.cuda();
  expect_device_close(sum(d), sum(x), 105 * 1e-6, "sum all");
  expect_device_close(mean(d), mean(x), kTol, "mean all");
  expect_device_close(sum(d, {1}), sum(x, {1}), kTol, "sum dim 1");
  expect_device_close(sum(d, {0, 2}, true), sum(x, {0, 2}, true), kTol, "sum dims 0, 2");
  expect_device_close(mean(d, {2}, true), mean(x, {2}, true), kTol, "mean dim 2 keepdim");
  expect_device_close(sum(d.transpose(0, 2), {1}), sum(x.transpose(0, 2), {1}), kTol,
                      "sum of a view");
  // More elements per output than threads per block (256), and more outputs than one.
  const Tensor big = random_cpu({2, 1001}, 42);
  expect_device_close(sum(big.cuda(), {1}), sum(big, {1}), 1001 * 1e-6, "sum of 1001");
  expect_device_close(sum(big.cuda()), sum(big), 2002 * 1e-6, "sum of 2002");
}

TEST(CudaOps, SumIsDeterministic) {
  const Tensor d = random_cpu({7, 333}, 43).cuda();
  const std::vector<float> first = sum(d, {1}).cpu().to_vector<float>();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sum(d, {1}).cpu().to_vector<float>(), first);
}

// Expects the cuda tensor got to hold exactly want's values (NaN where want has NaN).
void expect_device_same(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.device(), Device::cuda(0)) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const std::vector<float> g = got.cpu().contiguous().to_vector<float>();
  const std::vector<float> w = want.contiguous().to_vector<float>();
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(w[i])) {
      EXPECT_TRUE(std::isnan(g[i])) << what << " element " << i;
    } else {
      EXPECT_EQ(g[i], w[i]) << what << " element " << i;
    }
  }
}

// Values on a coarse grid (many ties) with a NaN in one row: max, min and argmax must give the
// cpu's answers exactly (the first extremum; a NaN wins), over kept dims before and after; the
// full reduction has more elements (615) than threads per block.
TEST(CudaOps, MaxMinArgmaxMatchCpuExactly) {
  std::vector<float> v = uniform_floats(3 * 41 * 5, 44);
  for (float& e : v) e = float(int(e * 4.0f)) / 4.0f;
  v[2 * 41 * 5 + 17 * 5 + 3] = NAN;
  const Tensor x = from_vector(v, {3, 41, 5});
  const Tensor d = x.cuda();
  for (std::vector<int64_t> dims : {std::vector<int64_t>{1}, {0, 2}, {2}, {}}) {
    const std::string what = "dims of size " + std::to_string(dims.size());
    expect_device_same(max(d, dims), max(x, dims), "max " + what);
    expect_device_same(min(d, dims, true), min(x, dims, true), "min " + what);
  }
  expect_device_same(max(d.narrow(0, 0, 2)), max(x.narrow(0, 0, 2)), "max without the NaN");
  for (int64_t dim : {0, 1, 2}) {
    const Tensor got = argmax(d.transpose(0, 1), dim);
    EXPECT_EQ(got.device(), Device::cuda(0));
    EXPECT_EQ(got.cpu().to_vector<int64_t>(), argmax(x.transpose(0, 1), dim).to_vector<int64_t>())
        << "argmax dim " << dim;
  }
}

// The max/min backward scatters into the first extremum on the device as on the cpu.
TEST(CudaOps, MaxMinBackwardMatchesCpu) {
  std::vector<float> v = uniform_floats(4 * 37 * 3, 45);
  for (float& e : v) e = float(int(e * 8.0f));
  Tensor x = from_vector(v, {4, 37, 3}), d = x.cuda();
  x.requires_grad_();
  d.requires_grad_();
  const Tensor w = random_cpu({4, 3}, 46);
  sum(mul(max(x, {1}), w)).backward();
  sum(mul(max(d, {1}), w.cuda())).backward();
  expect_device_close(d.grad(), x.grad(), 0.0, "max backward");
}

// Conversions on the device: u8 and i64 to f32 (also from views), i64 and u8 strided copies.
TEST(CudaOps, DtypeConversionsRunOnTheDevice) {
  std::vector<uint8_t> bytes(5 * 7);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(i * 37 % 256);
  const Tensor u8 = from_vector(bytes, {5, 7});
  const Tensor du8 = u8.cuda();
  expect_device_close(du8.to(DType::f32), u8.to(DType::f32), 0.0, "u8 -> f32");
  expect_device_close(du8.t().to(DType::f32), u8.t().to(DType::f32), 0.0, "u8 view -> f32");
  EXPECT_EQ(du8.t().contiguous().cpu().to_vector<uint8_t>(),
            u8.t().contiguous().to_vector<uint8_t>());
  const Tensor labels = from_vector(std::vector<int64_t>{3, -1, 7, 1 << 24, 0, 2}, {2, 3});
  const Tensor dl = labels.cuda();
  expect_device_close(dl.to(DType::f32), labels.to(DType::f32), 0.0, "i64 -> f32");
  EXPECT_EQ(dl.t().contiguous().cpu().to_vector<int64_t>(),
            labels.t().contiguous().to_vector<int64_t>());
  expect_error([&] { ones({2}, DType::f32, Device::cuda(0)).to(DType::i64); },
               {"copy", "f32 -> i64"});
}

// A 0-d cpu operand reaches the kernel by value: the op allocates its output and nothing else.
TEST(CudaOps, ScalarOperandIsAKernelArgument) {
  const Tensor x = random_cpu({6, 5}, 47);
  const Tensor d = x.cuda();
  CudaAllocator& alloc = CudaAllocator::instance(0);
  for (int side = 0; side < 2; ++side) {
    const Tensor s = scalar_tensor(1.5);
    const uint64_t before = alloc.stats().allocations;
    const Tensor got = side == 0 ? sub(d, s) : sub(s, d);
    EXPECT_EQ(alloc.stats().allocations, before + 1) << "side " << side;
    expect_device_close(got, side == 0 ? sub(x, s) : sub(s, x), kTol, "sub with a scalar");
  }
  expect_device_close(pow(d, 2.0) / 3.0, pow(x, 2.0) / 3.0, kTol, "x^2 / 3");
  expect_device_close(2.0 / (d.t() + 3.0), 2.0 / (x.t() + 3.0), kTol, "2 / (view + 3)");
  expect_error([&] { add(d, scalar_tensor(1.0, DType::f64)); }, {"add", "dtypes differ", "f64"});
}

// loss = mean(sigmoid(a * b + c) * tanh(a)) - sum(relu(c)) / 10 on either device.
Tensor small_graph(const Tensor& a, const Tensor& b, const Tensor& c) {
  return sub(mean(mul(sigmoid(add(mul(a, b), c)), tanh(a))), sum(relu(c)) / 10.0);
}

TEST(CudaOps, BackwardMatchesCpu) {
  Tensor a = random_cpu({3, 5, 7}, 51), b = random_cpu({5, 1}, 52), c = random_cpu({7}, 53);
  Tensor da = a.cuda(), db = b.cuda(), dc = c.cuda();
  for (Tensor* t : {&a, &b, &c, &da, &db, &dc}) t->requires_grad_();
  Tensor loss = small_graph(a, b, c);
  Tensor dloss = small_graph(da, db, dc);
  expect_device_close(dloss, loss, kTol, "loss");
  loss.backward();
  dloss.backward();
  expect_device_close(da.grad(), a.grad(), kTol, "grad a");
  expect_device_close(db.grad(), b.grad(), kTol, "grad b");
  expect_device_close(dc.grad(), c.grad(), kTol, "grad c");
}

TEST(CudaOps, GradientFlowsBackAcrossDevices) {
  Tensor x = random_cpu({4, 3}, 61);
  x.requires_grad_();
  Tensor loss = sum(mul(x.cuda(), x.cuda())).cpu();
  loss.backward();
  ASSERT_TRUE(x.grad().device().is_cpu());
  expect_close(x.grad(), (x * 2.0).detach(), kTol, "d sum(x^2) / dx");
}

// Slicing a non-leaf cuda tensor: the gradient of the part not taken is zeros made on the device
// (they were made on the cpu, which dropped the gradient of a 2-layer LSTM's top h_n).
TEST(CudaOps, SliceBackwardStaysOnTheDevice) {
  Tensor p = random_cpu({2, 5, 3}, 71);
  Tensor dp = p.cuda();
  for (Tensor* t : {&p, &dp}) t->requires_grad_();
  for (Tensor* t : {&p, &dp}) {
    Tensor s = mul(*t, *t);
    add(sum(mul(s.narrow(0, 1, 1), s.narrow(0, 1, 1))), sum(s.slice(1, 1, 5, 2))).backward();
  }
  expect_device_close(dp.grad(), p.grad(), kTol, "grad through narrow and slice");
}

// A backward function that returns its gradient on another device than its input's is refused,
// naming the node.
TEST(CudaOps, GradientOnTheWrongDeviceIsAnError) {
  Tensor x = random_cpu({3}, 72).cuda();
  x.requires_grad_();
  Tensor y = mul(x, x);
  Tensor z;
  {
    NoGradGuard no_grad;
    z = y.clone();
  }
  autograd::record("WrongDeviceBackward", {&y}, {&z}, {},
                   [](const std::vector<Tensor>& g, const std::vector<Tensor>&) {
                     return std::vector<Tensor>{g[0].cpu()};
                   });
  expect_error([&] { sum(z).backward(); },
               {"WrongDeviceBackward returned a gradient on cpu for input 0 on cuda:0"});
}

// The naive (v1) and register-tiled (v3) GEMM kernels on odd sizes, transposed operands and a
// batch, against matmul on the cpu (called through their dispatch adapters, with alpha and beta
// the ops never set).
TEST(CudaOps, GemmKernelsMatchCpuMatmul) {
  using Adapter = void (*)(const kernels::GemmDesc&, const void*, const void*, void*);
  for (Adapter gemm : {Adapter{&cuda_gemm_f32}, Adapter{&cuda_gemm_v3_f32}})
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        const int64_t batch = 2, m = 17, n = 13, k = 19;
        const Tensor a = random_cpu(ta ? Shape{batch, k, m} : Shape{batch, m, k}, 71);
        const Tensor b = random_cpu(tb ? Shape{batch, n, k} : Shape{batch, k, n}, 72);
        const Tensor want = matmul(ta ? a.transpose(1, 2) : a, tb ? b.transpose(1, 2) : b);
        const Tensor da = a.cuda(), db = b.cuda();
        Tensor c = full({batch, m, n}, 0.5, DType::f32, Device::cuda(0));
        kernels::GemmDesc d = kernels::row_major_gemm(m, n, k, ta, tb, 1.0);
        d.alpha = 2.0;
        d.batch = batch;
        d.stride_a = m * k;
        d.stride_b = k * n;
        d.stride_c = m * n;
        gemm(d, da.raw_data(), db.raw_data(), c.raw_data());
        expect_device_close(c, want * 2.0 + 0.5, k * 1e-6,
                            "gemm ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
      }
    }
}

// Softmax and log-softmax kernels, forward and backward, along the middle of (3, 301, 5) (more
// elements per row than threads per block) against the reference kernels on the cpu (called
// through the dispatch adapters).
TEST(CudaOps, SoftmaxKernelsMatchCpu) {
  const kernels::SoftmaxDesc d{3, 301, 5};
  const Tensor x = random_cpu({3, 301, 5}, 81) * 4.0, dy = random_cpu({3, 301, 5}, 82);
  const Tensor dx_dev = x.cuda(), ddy = dy.cuda();
  for (bool log_form : {false, true}) {
    const std::string what = log_form ? "log_softmax" : "softmax";
    const Tensor want = log_form ? log_softmax(x, 1) : softmax(x, 1);
    Tensor y = empty({3, 301, 5}, DType::f32, Device::cuda(0));
    if (log_form)
      cuda_softmax_forward_f32<true>(d, dx_dev.raw_data(), y.raw_data());
    else
      cuda_softmax_forward_f32<false>(d, dx_dev.raw_data(), y.raw_data());
    expect_device_close(y, want, kTol, what);
    Tensor xg = x.detach();
    xg.requires_grad_();
    Tensor out = log_form ? log_softmax(xg, 1) : softmax(xg, 1);
    sum(mul(out, dy)).backward();
    Tensor dx = empty({3, 301, 5}, DType::f32, Device::cuda(0));
    if (log_form)
      cuda_softmax_backward_f32<true>(d, y.raw_data(), ddy.raw_data(), dx.raw_data());
    else
      cuda_softmax_backward_f32<false>(d, y.raw_data(), ddy.raw_data(), dx.raw_data());
    expect_device_close(dx, xg.grad(), kTol, what + " backward");
  }
}

// matmul (batched, broadcast, a transposed view) and linear through the ops on cuda, forward and
// backward, against the cpu; gradients are sums over k or the batch: k * 1e-6 per element.
TEST(CudaOps, MatmulAndLinearRunOnTheDevice) {
  const Tensor a = random_cpu({3, 7, 11}, 91), b = random_cpu({11, 5}, 92);
  const Tensor w = random_cpu({6, 11}, 93), bias = random_cpu({6}, 94);
  expect_device_close(matmul(a.cuda(), b.cuda()), matmul(a, b), 11e-6, "matmul broadcast");
  expect_device_close(matmul(a.cuda(), a.cuda().transpose(1, 2)), matmul(a, a.transpose(1, 2)),
                      11e-6, "matmul batched, transposed view");
  Tensor xs[2] = {a.detach(), a.cuda().detach()};
  Tensor ws[2] = {w.detach(), w.cuda().detach()};
  Tensor bs[2] = {bias.detach(), bias.cuda().detach()};
  Tensor ys[2];
  for (int i = 0; i < 2; ++i) {
    xs[i].requires_grad_();
    ws[i].requires_grad_();
    bs[i].requires_grad_();
    ys[i] = linear(xs[i], ws[i], bs[i]);
    sum(mul(ys[i], ys[i])).backward();
  }
  expect_device_close(ys[1], ys[0], 11e-6, "linear");
  expect_device_close(xs[1].grad(), xs[0].grad(), 1e-4, "linear dx");
  expect_device_close(ws[1].grad(), ws[0].grad(), 1e-4, "linear dw");
  expect_device_close(bs[1].grad(), bs[0].grad(), 1e-4, "linear db");
  expect_error([&] { matmul(a.cuda(), b); }, {"matmul", "different devices", "cuda:0", "cpu"});
  expect_error([&] { linear(a, w.cuda()); }, {"linear", "different devices", "cpu", "cuda:0"});
}

// softmax and log_softmax ops on cuda (a non-contiguous input, the last dim) with backward.
TEST(CudaOps, SoftmaxOpsRunOnTheDevice) {
  const Tensor x = random_cpu({5, 9, 3}, 101) * 3.0, dy = random_cpu({5, 3, 9}, 102);
  for (bool log_form : {false, true}) {
    Tensor xs[2] = {x.detach(), x.cuda().detach()};
    Tensor ys[2];
    for (int i = 0; i < 2; ++i) {
      xs[i].requires_grad_();
      Tensor v = xs[i].transpose(1, 2);
      ys[i] = log_form ? log_softmax(v, -1) : softmax(v, -1);
      sum(mul(ys[i], i == 0 ? dy : dy.cuda())).backward();
    }
    const std::string what = log_form ? "log_softmax" : "softmax";
    expect_device_close(ys[1], ys[0], kTol, what);
    expect_device_close(xs[1].grad(), xs[0].grad(), kTol, what + " backward");
  }
}

TEST(CudaOps, DeviceErrorsNameTheOp) {
  const Tensor d = ones({2, 3}, DType::f32, Device::cuda(0));
  expect_error([&] { add(d, ones({2, 3})); }, {"add", "different devices", "cuda:0", "cpu"});
  expect_error([&] { exp(d.to(DType::f64)); }, {"copy", "f32"});
}

}  // namespace
}  // namespace signet
