#include "tests/support/cuda_compare.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/ops/elementwise.h"
#include "tests/support/fixtures.h"

namespace signet::testing {

Tensor random_cpu(const Shape& shape, unsigned seed, double scale) {
  const Tensor t = from_vector(uniform_floats(size_t(shape_numel(shape)), seed), shape);
  return scale == 1.0 ? t : t * scale;
}

void expect_device_close(const Tensor& got, const Tensor& want, double tol,
                         const std::string& what) {
  ASSERT_EQ(got.device(), Device::cuda(0)) << what;
  expect_close(got.cpu(), want, tol, what);
}

void expect_device_bitwise(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.device(), Device::cuda(0)) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const std::vector<float> g = got.cpu().contiguous().to_vector<float>();
  const std::vector<float> w = want.contiguous().to_vector<float>();
  for (size_t i = 0; i < g.size(); ++i) {
    uint32_t a, b;
    std::memcpy(&a, &g[i], 4);
    std::memcpy(&b, &w[i], 4);
    ASSERT_EQ(a, b) << what << " element " << i << ": " << g[i] << " vs " << w[i];
  }
}

}  // namespace signet::testing
