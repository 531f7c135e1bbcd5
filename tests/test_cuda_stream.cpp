// Streams on the cuda device (engine/cuda_stream.h): the current stream per thread and its guard,
// launches and copies on the current stream, an event ordering work on two streams, and the
// allocator keeping a freed block for the stream it was allocated on.
#include <gtest/gtest.h>

#include <vector>

#include "engine/cuda_allocator.h"
#include "engine/cuda_device.h"
#include "engine/cuda_stream.h"
#include "engine/ops.h"
#include "engine/tensor.h"
#include "tests/support/fixtures.h"
#include "tests/test_cuda_env.h"

namespace signet {
namespace {

using testing::uniform_floats;

// A 1000-element device tensor of ones, finished before it returns.
Tensor device_ones() {
  Tensor x = full({1000}, 1.0, DType::f32, Device::cuda(0));
  EXPECT_EQ(x.cpu().to_vector<float>()[999], 1.0f);
  return x;
}

TEST(CudaStream, GuardMakesAStreamCurrentAndRestoresThePrevious) {
  const CudaStream def = CudaStream::default_stream(0);
  EXPECT_EQ(cuda_current_stream(0), def);
  EXPECT_EQ(def.handle(), nullptr);
  EXPECT_EQ(def.id(), 0u);
  const CudaStream s1 = CudaStream::create(0);
  const CudaStream s2 = CudaStream::create(0);
  EXPECT_NE(s1.handle(), nullptr);
  EXPECT_NE(s1, s2);
  {
    CudaStreamGuard g1(s1);
    EXPECT_EQ(cuda_current_stream(0), s1);
    {
      CudaStreamGuard g2(s2);
      EXPECT_EQ(cuda_current_stream(0), s2);
    }
    EXPECT_EQ(cuda_current_stream(0), s1);
  }
  EXPECT_EQ(cuda_current_stream(0), def);
}

TEST(CudaStream, OpsOnAStreamGiveTheCpuResults) {
  const std::vector<float> values = uniform_floats(517, 3);
  Tensor x = from_vector(values, {11, 47});
  const CudaStream s = CudaStream::create(0);
  Tensor y;
  {
    CudaStreamGuard guard(s);
    Tensor d = x.cuda();
    y = softmax(mul(d, d), 1).cpu();  // the copy to the host waits for s
  }
  const std::vector<float> want = softmax(mul(x, x), 1).to_vector<float>();
  const std::vector<float> got = y.to_vector<float>();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6f) << i;
}

TEST(CudaStream, AnEventOrdersWorkOnTwoStreams) {
  Tensor x = device_ones();
  const CudaStream s1 = CudaStream::create(0);
  const CudaStream s2 = CudaStream::create(0);
  CudaEvent done;
  {
    CudaStreamGuard guard(s1);
    x.mul_(3.0);
    done.record(s1);
  }
  CudaStreamGuard guard(s2);
  done.wait(s2);
  const std::vector<float> y = (x + 1.0).cpu().to_vector<float>();
  for (float v : y) ASSERT_EQ(v, 4.0f);
}

// The host SIMT backend runs a stream's queued work only when something waits for it, so work on
// a second stream that does not wait for the first sees the old values: this shows that the two
// streams really are separate queues (on a GPU the same program is a race, so it runs in simt
// only).
TEST(CudaStream, WithoutAnEventTwoStreamsAreUnorderedInSimt) {
  if (cuda_backend_name() != "simt") GTEST_SKIP() << "a race on a real device";
  Tensor x = device_ones();
  const CudaStream s1 = CudaStream::create(0);
  const CudaStream s2 = CudaStream::create(0);
  {
    CudaStreamGuard guard(s1);
    x.mul_(3.0);
  }
  {
    CudaStreamGuard guard(s2);
    EXPECT_EQ((x + 1.0).cpu().to_vector<float>()[0], 2.0f);
  }
  s1.synchronize();
  EXPECT_EQ(x.cpu().to_vector<float>()[0], 3.0f);
}

TEST(CudaStream, EventSynchronizeWaitsForTheRecordedWork) {
  Tensor x = device_ones();
  const CudaStream s = CudaStream::create(0);
  CudaEvent done;
  done.synchronize();  // never recorded: returns at once, as in CUDA
  {
    CudaStreamGuard guard(s);
    x.mul_(5.0);
    done.record(s);
  }
  done.synchronize();
  EXPECT_EQ(x.cpu().to_vector<float>()[500], 5.0f);
}

TEST(CudaAllocator, ReusesAFreedBlockOnlyOnItsStream) {
  CudaAllocator& a = CudaAllocator::instance(0);
  a.empty_cache();
  void* on_default = nullptr;
  void* on_stream = nullptr;
  {
    Tensor t = empty({3000}, DType::f32, Device::cuda(0));
    on_default = t.raw_data();
  }
  {
    const CudaStream s = CudaStream::create(0);
    CudaStreamGuard guard(s);
    {
      Tensor t = empty({3000}, DType::f32, Device::cuda(0));  // the default stream's block waits
      on_stream = t.raw_data();
      EXPECT_NE(on_stream, on_default);
    }
    const CudaAllocatorStats before = a.stats();
    Tensor t = empty({3000}, DType::f32, Device::cuda(0));
    EXPECT_EQ(t.raw_data(), on_stream);
    EXPECT_EQ(a.stats().cache_hits, before.cache_hits + 1);
  }
  // The stream is gone: its block joined the default stream's cache.
  Tensor t1 = empty({3000}, DType::f32, Device::cuda(0));
  Tensor t2 = empty({3000}, DType::f32, Device::cuda(0));
  EXPECT_TRUE((t1.raw_data() == on_default && t2.raw_data() == on_stream) ||
              (t1.raw_data() == on_stream && t2.raw_data() == on_default));
}

}  // namespace
}  // namespace signet
