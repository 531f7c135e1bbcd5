// Tensors on the cuda device (the host SIMT backend in CI, nvcc where a GPU exists): creation,
// copies both ways, device-side contiguous copies, the caching allocator, and the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "engine/cuda_allocator.h"
#include "engine/cuda_device.h"
#include "engine/nn/batch_norm.h"
#include "engine/nn/linear.h"
#include "engine/ops.h"
#include "engine/runtime_info.h"
#include "engine/tensor.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

using testing::expect_error;
using testing::uniform_floats;

TEST(CudaTensor, RoundTripKeepsEveryValue) {
  Tensor x = from_vector(uniform_floats(105, 1), {3, 5, 7});
  Tensor d = x.cuda();
  EXPECT_EQ(d.device(), Device::cuda(0));
  EXPECT_EQ(d.device().str(), "cuda:0");
  EXPECT_EQ(d.shape(), x.shape());
  Tensor back = d.cpu();
  EXPECT_TRUE(back.device().is_cpu());
  EXPECT_EQ(back.to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(x.to(Device::cuda(0)).to(Device::cpu()).to_vector<float>(), x.to_vector<float>());
}

TEST(CudaTensor, RoundTripOfOtherDtypesMovesBytes) {
  Tensor labels = from_vector(std::vector<int64_t>{3, -1, 7, 1000000000000}, {2, 2});
  EXPECT_EQ(labels.cuda().cpu().to_vector<int64_t>(), labels.to_vector<int64_t>());
}

TEST(CudaTensor, CreationOnTheDevice) {
  const Device gpu = Device::cuda(0);
  EXPECT_EQ(zeros({3, 5}, DType::f32, gpu).cpu().to_vector<float>(), std::vector<float>(15, 0.0f));
  EXPECT_EQ(ones({7}, DType::f32, gpu).cpu().to_vector<float>(), std::vector<float>(7, 1.0f));
  EXPECT_EQ(full({2, 3}, -2.5, DType::f32, gpu).cpu().to_vector<float>(),
            std::vector<float>(6, -2.5f));
  Tensor e = empty({4, 0, 3}, DType::f32, gpu);
  EXPECT_EQ(e.numel(), 0);
  EXPECT_EQ(e.cpu().numel(), 0);
}

TEST(CudaTensor, NonContiguousViewsCopyBothWays) {
  Tensor x = from_vector(uniform_floats(105, 2), {3, 5, 7});
  Tensor want = x.permute({2, 0, 1}).contiguous();
  // A cpu view sent to the device, and a device view made contiguous on the device.
  EXPECT_EQ(x.permute({2, 0, 1}).cuda().cpu().to_vector<float>(), want.to_vector<float>());
  Tensor on_device = x.cuda().permute({2, 0, 1});
  EXPECT_FALSE(on_device.is_contiguous());
  Tensor c = on_device.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.device(), Device::cuda(0));
  EXPECT_EQ(c.cpu().to_vector<float>(), want.to_vector<float>());
  // Slices with a step, and copy_ into a strided device view.
  Tensor sliced = x.cuda().slice(2, 1, 7, 2);
  EXPECT_EQ(sliced.cpu().to_vector<float>(), x.slice(2, 1, 7, 2).contiguous().to_vector<float>());
  Tensor dst = zeros({3, 5, 7}, DType::f32, Device::cuda(0));
  dst.slice(1, 0, 5, 2).copy_(ones({3, 3, 7}));
  Tensor want_dst = zeros({3, 5, 7});
  want_dst.slice(1, 0, 5, 2).fill_(1.0);
  EXPECT_EQ(dst.cpu().to_vector<float>(), want_dst.to_vector<float>());
  dst.slice(2, 1, 7, 3).fill_(4.0);
  want_dst.slice(2, 1, 7, 3).fill_(4.0);
  EXPECT_EQ(dst.cpu().to_vector<float>(), want_dst.to_vector<float>());
}

TEST(CudaTensor, HostElementAccessIsAnError) {
  Tensor d = ones({2, 3}, DType::f32, Device::cuda(0));
  expect_error([&] { d.data<float>(); }, {"data<T>()", "is on cuda:0; copy it with .cpu()"});
  expect_error([&] { d.to_vector<float>(); }, {"to_vector", "is on cuda:0; copy it with .cpu()"});
  expect_error([&] { sum(d).item(); }, {"item", "is on cuda:0; copy it with .cpu()"});
}

TEST(CudaTensor, PrintingCopiesToTheHost) {
  Tensor d = from_vector(std::vector<float>{1.5f, -2.0f, 3.25f}, {3}).cuda();
  const std::string s = d.str();
  EXPECT_NE(s.find("device=cuda:0"), std::string::npos) << s;
  EXPECT_NE(s.find("1.5 -2 3.25"), std::string::npos) << s;
}

TEST(CudaTensor, MissingDeviceIsAnError) {
  expect_error([] { ones({2}, DType::f32, Device::cuda(7)); }, {"cuda:7", "does not exist"});
  expect_error([] { ones({2}).cuda(7); }, {"cuda:7", "does not exist"});
}

TEST(CudaAllocator, SizeClasses) {
  EXPECT_EQ(CudaAllocator::size_class(0), 512u);
  EXPECT_EQ(CudaAllocator::size_class(1), 512u);
  EXPECT_EQ(CudaAllocator::size_class(512), 512u);
  EXPECT_EQ(CudaAllocator::size_class(513), 1024u);
  EXPECT_EQ(CudaAllocator::size_class(size_t(1) << 20), size_t(1) << 20);
  EXPECT_EQ(CudaAllocator::size_class((size_t(1) << 20) + 1), size_t(2) << 20);
  EXPECT_EQ(CudaAllocator::size_class(size_t(3) << 20), size_t(4) << 20);
}

TEST(CudaAllocator, ReusesFreedBlocksAndCounts) {
  CudaAllocator& a = CudaAllocator::instance(0);
  a.empty_cache();
  const CudaAllocatorStats before = a.stats();
  EXPECT_EQ(before.reserved_bytes, before.allocated_bytes);
  void* first = nullptr;
  {
    Tensor t = empty({1000}, DType::f32, Device::cuda(0));  // 4000 B -> class 4096
    first = t.raw_data();
    const CudaAllocatorStats s = a.stats();
    EXPECT_EQ(s.allocated_bytes, before.allocated_bytes + 4096);
    EXPECT_EQ(s.device_mallocs, before.device_mallocs + 1);
    EXPECT_GE(s.peak_allocated_bytes, s.allocated_bytes);
  }
  const CudaAllocatorStats freed = a.stats();
  EXPECT_EQ(freed.allocated_bytes, before.allocated_bytes);
  EXPECT_EQ(freed.reserved_bytes, before.reserved_bytes + 4096);
  {
    Tensor t = empty({1010}, DType::f32, Device::cuda(0));  // same class: the cached block
    EXPECT_EQ(t.raw_data(), first);
    const CudaAllocatorStats s = a.stats();
    EXPECT_EQ(s.cache_hits, freed.cache_hits + 1);
    EXPECT_EQ(s.device_mallocs, freed.device_mallocs);
    EXPECT_EQ(s.allocations, freed.allocations + 1);
  }
  a.empty_cache();
  const CudaAllocatorStats emptied = a.stats();
  EXPECT_EQ(emptied.reserved_bytes, emptied.allocated_bytes);
  a.reset_peak();
  EXPECT_EQ(a.stats().peak_allocated_bytes, a.stats().allocated_bytes);
}

TEST(CudaAllocator, StatisticsReachRuntimeInfoAndPeakResets) {
  CudaAllocatorStats s;
  s.allocated_bytes = 4096;
  s.reserved_bytes = 3 << 20;
  s.peak_allocated_bytes = 1536;
  s.allocations = 1;
  s.cache_hits = 2;
  EXPECT_EQ(describe_cuda_memory(s),
            "allocated 4.0 KiB, reserved 3.0 MiB (3.0 MiB cached), peak 1.5 KiB, 1 allocation (2 "
            "cache hits)");
  s.allocated_bytes = 512;
  s.allocations = 7;
  s.cache_hits = 1;
  EXPECT_EQ(describe_cuda_memory(s),
            "allocated 512 B, reserved 3.0 MiB (3.0 MiB cached), peak 1.5 KiB, 7 allocations (1 "
            "cache hit)");

  Tensor kept = empty({1000}, DType::f32, Device::cuda(0));
  { Tensor big = empty({100000}, DType::f32, Device::cuda(0)); }
  const CudaAllocatorStats now = CudaAllocator::instance(0).stats();
  const RuntimeInfo info = runtime_info();
  ASSERT_EQ(info.cuda_memory.size(), 1u);
  EXPECT_EQ(info.cuda_memory[0].device, 0);
  EXPECT_EQ(info.cuda_memory[0].stats.allocated_bytes, now.allocated_bytes);
  EXPECT_EQ(info.cuda_memory[0].stats.reserved_bytes, now.reserved_bytes);
  EXPECT_EQ(info.cuda_memory[0].stats.allocations, now.allocations);
  EXPECT_EQ(info.cuda_memory[0].stats.cache_hits, now.cache_hits);
  EXPECT_GE(now.peak_allocated_bytes, now.allocated_bytes + 400000);
  reset_cuda_peak_memory();
  EXPECT_EQ(CudaAllocator::instance(0).stats().peak_allocated_bytes, now.allocated_bytes);
}

TEST(CudaModule, ToMovesParametersBuffersAndGradsInPlace) {
  nn::Linear fc(5, 3);
  nn::BatchNorm2d bn(4);
  const Tensor w = fc.weight();  // a handle held outside the module
  const std::vector<float> w_values = w.to_vector<float>();
  w.set_grad(full({3, 5}, 0.25));
  fc.to(Device::cuda(0));
  bn.to(Device::cuda(0));
  EXPECT_EQ(w.device(), Device::cuda(0));
  EXPECT_TRUE(w.same(fc.weight()));
  EXPECT_TRUE(w.requires_grad());
  EXPECT_EQ(w.cpu().to_vector<float>(), w_values);
  EXPECT_EQ(w.grad().device(), Device::cuda(0));
  EXPECT_EQ(w.grad().cpu().to_vector<float>(), std::vector<float>(15, 0.25f));
  for (const auto& [name, t] : bn.state_dict()) EXPECT_EQ(t.device(), Device::cuda(0)) << name;
  std::vector<std::string> names;
  for (const auto& [name, t] : fc.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias"}));
  fc.to(Device::cpu());
  EXPECT_TRUE(w.device().is_cpu());
  EXPECT_EQ(w.to_vector<float>(), w_values);
}

TEST(CudaDevice, BackendIsOneOfTheBuiltOnes) {
  const std::vector<std::string> built = cuda_backends_built();
  ASSERT_FALSE(built.empty());
  EXPECT_NE(std::find(built.begin(), built.end(), cuda_backend_name()), built.end());
}

TEST(CudaDevice, BackendRequestsResolve) {
  // No GPU in CI: the default is simt there, nvcc where a device exists.
  const std::string fallback = resolve_cuda_backend(nullptr);
  EXPECT_EQ(resolve_cuda_backend(""), fallback);
  EXPECT_EQ(resolve_cuda_backend("simt"), "simt");
  expect_error([] { resolve_cuda_backend("bogus"); },
               {"SIGNET_CUDA_BACKEND=bogus", "unknown or not built", "known: ", "simt"});
}

}  // namespace
}  // namespace signet
