// The cuda convolution versions registered in the conv2d / conv3d ops beside v2_igemm and
// v1_naive (engine/ops/conv.cpp), each forced through SIGNET_IMPL_* on cuda (simt) tensors,
// forward and gradients against the cpu: v3_igemm_tf32 and v4_igemm_bf16 (all three passes; only
// when forced, as they round their inputs) and first_layer (forward; chosen by rule for small
// C/groups). The kernels themselves are checked tightly in test_cuda_conv.cpp; here the bound is
// the worst case for inputs in [-1, 1): each of `terms` products has magnitude below 1 and a
// relative error of at most 2u + u^2 from rounding both factors (u = 2^-11 for tf32, 2^-8 for
// bf16, 0 for fp32), plus the fp32 sum's gamma bound (Higham 3.1, with u = 2^-23 for the
// tensor cores' truncating adds): tol = terms * (2.01 u + (terms + 2) 2^-23). That a forced
// tensor-core version ran shows in its rounding: some element of y differs from the cpu by more
// than an fp32 sum's bound, terms (terms + 2) 2^-24.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/conv.h"
#include "engine/tensor.h"
#include "tests/support/cuda_compare.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

using testing::expect_device_close;
using testing::random_cpu;

// A registered cuda version: its name, its inputs' unit roundoff and whether it has the backward
// passes too.
struct Version {
  const char* name;
  double input_u;
  bool backward;
};
const Version kVersions[] = {
    {"v3_igemm_tf32", 0x1p-11, true},
    {"v4_igemm_bf16", 0x1p-8, true},
    {"first_layer", 0.0, false},
};

// The bound of the file comment for sums of `terms` products.
double bound(double terms, double input_u) {
  return terms * (2.01 * input_u + (terms + 2) * 0x1p-23);
}

// Sets SIGNET_IMPL_<op><suffix> to version for the given suffixes while alive.
class Forced {
 public:
  Forced(const std::string& op, const std::vector<std::string>& suffixes,
         const std::string& version) {
    for (const std::string& s : suffixes) {
      vars_.push_back("SIGNET_IMPL_" + op + s);
      setenv(vars_.back().c_str(), version.c_str(), 1);
    }
  }
  ~Forced() {
    for (const std::string& v : vars_) unsetenv(v.c_str());
  }
  Forced(const Forced&) = delete;
  Forced& operator=(const Forced&) = delete;

 private:
  std::vector<std::string> vars_;
};

// y = f(x, w, b) and the gradients of sum(y * g) on the cpu and, with each version forced, on
// cuda; groups as f uses them.
template <class F>
void compare(const Shape& xs, const Shape& ws, int64_t groups, F f, const std::string& what) {
  const std::string op = xs.size() == 4 ? "conv2d" : "conv3d";
  const Tensor x0 = random_cpu(xs, 41), w0 = random_cpu(ws, 42), b0 = random_cpu({ws[0]}, 43);
  Tensor xc = x0.detach(), wc = w0.detach(), bc = b0.detach();
  for (Tensor* t : {&xc, &wc, &bc}) t->requires_grad_();
  const Tensor yc = f(xc, wc, bc);
  const Tensor g = random_cpu(yc.shape(), 44);
  sum(mul(yc, g)).backward();
  const double depth = double(shape_numel(ws) / ws[0]);  // C/groups * taps
  const double taps = depth / double(ws[1]);
  const double per_weight = double(yc.numel() / ws[0]);  // N * output positions
  for (const Version& v : kVersions) {
    if (!v.backward && depth > 256) continue;  // the first-layer path's limit
    const std::string label = what + " " + v.name;
    Tensor xd = x0.cuda(), wd = w0.cuda(), bd = b0.cuda();
    for (Tensor* t : {&xd, &wd, &bd}) t->requires_grad_();
    Tensor yd;
    {
      const Forced forced(op,
                          v.backward
                              ? std::vector<std::string>{"", "_backward_data", "_backward_weights"}
                              : std::vector<std::string>{""},
                          v.name);
      yd = f(xd, wd, bd);
      sum(mul(yd, g.cuda())).backward();
    }
    expect_device_close(yd, yc.detach(), bound(depth + 1, v.input_u), label + " y");
    if (v.input_u > 0) {
      EXPECT_GT(max(abs(yd.cpu() - yc.detach())).item(), (depth + 1) * (depth + 3) * 0x1p-24)
          << label << ": no rounding visible";
    }
    if (!v.backward) continue;
    const double data_terms = double(ws[0] / groups) * taps;
    expect_device_close(xd.grad(), xc.grad(), bound(data_terms, v.input_u), label + " dx");
    expect_device_close(wd.grad(), wc.grad(), bound(per_weight, v.input_u), label + " dw");
    expect_device_close(bd.grad(), bc.grad(), bound(per_weight, 0), label + " db");
  }
}

TEST(CudaConvOp, RegisteredVersionsMatchCpu2d) {
  compare(
      {2, 3, 9, 8}, {5, 3, 3, 2}, 1,
      [](const Tensor& x, const Tensor& w, const Tensor& b) {
        return conv2d(x, w, b, {2, 1}, {1, 0}, {1}, 1);
      },
      "conv2d k(3,2) s(2,1) p(1,0)");
  compare(
      {1, 4, 7, 9}, {6, 2, 3, 3}, 2,
      [](const Tensor& x, const Tensor& w, const Tensor& b) {
        return conv2d(x, w, b, {1}, {2}, {2}, 2);
      },
      "conv2d groups 2 dilation 2 p2");
}

TEST(CudaConvOp, RegisteredVersionsMatchCpu3d) {
  compare(
      {2, 4, 4, 5, 5}, {4, 2, 3, 2, 3}, 2,
      [](const Tensor& x, const Tensor& w, const Tensor& b) {
        return conv3d(x, w, b, {2}, {1}, {1, 2, 1}, 2);
      },
      "conv3d groups 2 stride 2 dilation (1,2,1)");
}

}  // namespace
}  // namespace signet
