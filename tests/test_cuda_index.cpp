// index_select and gather on the cuda device (kernels/cuda/index.h, v1_cuda of index_select,
// gather, index_add and scatter_add) against the cpu ops on the same inputs. The forward copies
// values and the backward adds repeated indices in the reference's order (one thread per grad_in
// element walking the indices in order), so every result equals the cpu's bit for bit; f32 forward
// and backward, i64 forward, odd shapes, every dim, repeated indices; an out-of-range cuda index
// is refused before any kernel runs.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/cuda_device.h"
#include "engine/ops.h"
#include "engine/ops/join.h"
#include "engine/tensor.h"
#include "tests/support/cuda_compare.h"
#include "tests/support/expect_error.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

using testing::expect_device_bitwise;
using testing::random_cpu;

// An i64 index of shape with entries (seed-mixed) in [0, size), repeats included.
Tensor random_index(const Shape& shape, int64_t size, unsigned seed) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::vector<int64_t> v(static_cast<size_t>(n));
  uint64_t h = seed * 2654435761u + 1;
  for (auto& e : v) {
    h = h * 6364136223846793005ull + 1442695040888963407ull;
    e = static_cast<int64_t>((h >> 33) % static_cast<uint64_t>(size));
  }
  return from_vector(v, shape);
}

// Runs op(x, dim, index) forward and the backward of sum(y dy) on device dev; y and dx.
template <class Op>
std::pair<Tensor, Tensor> run_indexing(Op op, const Tensor& x0, int64_t dim, const Tensor& index,
                                       const Tensor& dy, const Device& dev) {
  Tensor x = x0.to(dev).detach();
  x.requires_grad_();
  const Tensor y = op(x, dim, index.to(dev));
  sum(mul(y, dy.to(dev))).backward();
  return {y.detach(), x.grad()};
}

// Compares forward and backward of op on cuda with the cpu bit for bit.
template <class Op>
void compare_indexing(Op op, const std::string& name, const Shape& shape, int64_t dim,
                      const Tensor& index, unsigned seed) {
  const std::string what = name + " " + shape_str(shape) + " dim " + std::to_string(dim);
  const Tensor x = random_cpu(shape, seed);
  const Tensor y_shape_probe = op(x, dim, index);
  const Tensor dy = random_cpu(y_shape_probe.shape(), seed + 1);
  const auto c = run_indexing(op, x, dim, index, dy, Device::cpu());
  const auto d = run_indexing(op, x, dim, index, dy, Device::cuda(0));
  expect_device_bitwise(d.first, c.first, what + " y");
  expect_device_bitwise(d.second, c.second, what + " dx");
}

TEST(CudaIndex, IndexSelectMatchesCpuBitForBit) {
  const Shape shape{3, 7, 5};
  for (int64_t dim = 0; dim < 3; ++dim)
    compare_indexing(
        [](const Tensor& x, int64_t d, const Tensor& i) { return index_select(x, d, i); },
        "index_select", shape, dim, random_index({9}, shape[dim], 10 + dim), 20 + dim);
  compare_indexing(
      [](const Tensor& x, int64_t d, const Tensor& i) { return index_select(x, d, i); },
      "index_select", {1}, 0, random_index({4}, 1, 3), 30);  // every index repeats
}

TEST(CudaIndex, GatherMatchesCpuBitForBit) {
  const Shape shape{4, 6, 3};
  for (int64_t dim = 0; dim < 3; ++dim) {
    Shape ishape = shape;
    ishape[dim] = 8;  // more picks than entries: repeats
    compare_indexing([](const Tensor& x, int64_t d, const Tensor& i) { return gather(x, d, i); },
                     "gather", shape, dim, random_index(ishape, shape[dim], 40 + dim), 50 + dim);
  }
}

TEST(CudaIndex, I64ForwardMatchesCpu) {
  const Tensor x = random_index({5, 7}, 1000, 61);
  const Tensor isel = random_index({6}, 7, 62), igat = random_index({3, 7}, 5, 63);
  const Tensor a = index_select(x.cuda(), 1, isel.cuda()).cpu(), b = index_select(x, 1, isel);
  const Tensor c = gather(x.cuda(), 0, igat.cuda()).cpu(), e = gather(x, 0, igat);
  EXPECT_EQ(a.to_vector<int64_t>(), b.to_vector<int64_t>());
  EXPECT_EQ(c.to_vector<int64_t>(), e.to_vector<int64_t>());
}

TEST(CudaIndex, OutOfRangeCudaIndexIsRefused) {
  const Tensor x = random_cpu({2, 3}, 70).cuda();
  const Tensor bad = from_vector<int64_t>({0, 3}, {2}).cuda();
  testing::expect_error([&] { index_select(x, 1, bad); },
                        {"index_select", "index 3", "out of range", "[1]"});
  const Tensor gbad = from_vector<int64_t>({0, 1, 2, 0, 5, 1}, {2, 3}).cuda();
  testing::expect_error([&] { gather(x, 1, gbad); }, {"gather", "index 5", "[1, 1]"});
}

}  // namespace
}  // namespace signet
