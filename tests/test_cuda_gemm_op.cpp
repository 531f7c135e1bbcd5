// The tensor-core GEMM versions registered in the matmul op beside v3_cuda_register
// (engine/ops/matmul.cpp): v4_cuda_tf32, v5_cuda_bf16 and v6_cuda_bf16_ldmatrix, each forced
// through SIGNET_IMPL_matmul on cuda (simt) tensors, against matmul on the cpu. The kernels are
// checked tightly in test_cuda_gemm.cpp; here the bound is the worst case for inputs in [-1, 1):
// k products of magnitude below 1, each with a relative error of at most 2u + u^2 from rounding
// both factors (u = 2^-11 for tf32, 2^-8 for bf16), plus the fp32 sum's gamma bound with the
// tensor cores' truncating adds (u = 2^-23): tol = k (2.01 u + (k + 2) 2^-23). That the forced
// version ran shows in its rounding: some element differs from the cpu by more than an fp32 sum's
// bound, k (k + 2) 2^-24.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "engine/ops.h"
#include "engine/tensor.h"
#include "tests/support/cuda_compare.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

using testing::expect_device_close;
using testing::random_cpu;

TEST(CudaGemmOp, RegisteredTensorCoreVersionsMatchCpu) {
  struct Version {
    const char* name;
    double input_u;
  };
  const Version versions[] = {
      {"v4_cuda_tf32", 0x1p-11}, {"v5_cuda_bf16", 0x1p-8}, {"v6_cuda_bf16_ldmatrix", 0x1p-8}};
  const int64_t k = 37;
  const Tensor a = random_cpu({2, 19, k}, 51), b = random_cpu({k, 23}, 52);
  const Tensor want = matmul(a, b), wantt = matmul(a, a.transpose(1, 2));
  for (const Version& v : versions) {
    setenv("SIGNET_IMPL_matmul", v.name, 1);
    const Tensor got = matmul(a.cuda(), b.cuda());
    const Tensor gott = matmul(a.cuda(), a.cuda().transpose(1, 2));
    unsetenv("SIGNET_IMPL_matmul");
    const double tol = double(k) * (2.01 * v.input_u + double(k + 2) * 0x1p-23);
    expect_device_close(got, want, tol, std::string(v.name) + " broadcast");
    expect_device_close(gott, wantt, tol, std::string(v.name) + " batched, transposed view");
    EXPECT_GT(max(abs(got.cpu() - want)).item(), double(k * (k + 2)) * 0x1p-24) << v.name;
  }
}

}  // namespace
}  // namespace signet
