#include "engine/cuda_allocator.h"

#include <memory>
#include <string>

#include "engine/cuda_device.h"
#include "engine/cuda_stream.h"
#include "engine/error.h"

namespace signet {
namespace {

constexpr size_t kSmallLimit = size_t(1) << 20;  // 1 MiB
constexpr size_t kSmallStep = 512;
constexpr size_t kLargeStep = size_t(2) << 20;  // 2 MiB

}  // namespace

std::unique_ptr<CudaAllocator>* CudaAllocator::registry() {
  // Deliberately leaked, as the CPU allocator: static tensors may be freed after it.
  static std::unique_ptr<CudaAllocator>* const all =
      new std::unique_ptr<CudaAllocator>[kMaxDevices];
  return all;
}

std::mutex& CudaAllocator::registry_mutex() {
  static std::mutex mutex;
  return mutex;
}

CudaAllocator& CudaAllocator::instance(int device) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::unique_ptr<CudaAllocator>* const all = registry();
  if (device >= 0 && device < kMaxDevices && all[device]) return *all[device];
  cuda_use_device(device, "CudaAllocator");
  SIGNET_CHECK(device < kMaxDevices, "CudaAllocator: device cuda:", device, " beyond the ",
               kMaxDevices, " supported");
  all[device].reset(new CudaAllocator(device));
  return *all[device];
}

const CudaAllocator* CudaAllocator::existing(int device) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  return device >= 0 && device < kMaxDevices ? registry()[device].get() : nullptr;
}

size_t CudaAllocator::size_class(size_t nbytes) {
  if (nbytes <= kSmallLimit)
    return nbytes == 0 ? kSmallStep : (nbytes + kSmallStep - 1) / kSmallStep * kSmallStep;
  return (nbytes + kLargeStep - 1) / kLargeStep * kLargeStep;
}

void* CudaAllocator::allocate(size_t nbytes) {
  const size_t cls = size_class(nbytes);
  const uint64_t stream = cuda_current_stream(device_).id();
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.allocations;
  void* p = nullptr;
  auto it = cache_.find({stream, cls});
  if (it != cache_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    ++stats_.cache_hits;
  } else {
    const GpuBackend& b = cuda_backend();
    cuda_check(b.set_device(device_), "CudaAllocator");
    int status = b.malloc(&p, cls);
    if (status != 0) {
      release_cached_locked();  // cached blocks of other classes may be what stands in the way
      status = b.malloc(&p, cls);
    }
    SIGNET_CHECK(status == 0 && p != nullptr, "CudaAllocator: out of memory on cuda:", device_,
                 " allocating ", nbytes, " bytes (", cls, " with rounding; ",
                 stats_.allocated_bytes, " allocated): ", b.describe(status));
    ++stats_.device_mallocs;
    stats_.reserved_bytes += cls;
  }
  live_.emplace(p, Block{cls, stream});
  stats_.allocated_bytes += cls;
  if (stats_.allocated_bytes > stats_.peak_allocated_bytes)
    stats_.peak_allocated_bytes = stats_.allocated_bytes;
  return p;
}

void CudaAllocator::deallocate(void* p, size_t nbytes) {
  if (p == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(p);
  SIGNET_CHECK(it != live_.end(), "CudaAllocator: freeing a block of ", nbytes,
               " bytes that this allocator did not hand out");
  const Block block = it->second;
  live_.erase(it);
  stats_.allocated_bytes -= block.size_class;
  const uint64_t stream = forgotten_streams_.count(block.stream) ? 0 : block.stream;
  cache_[{stream, block.size_class}].push_back(p);
}

void CudaAllocator::forget_stream(uint64_t stream_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  forgotten_streams_.insert(stream_id);
  for (auto it = cache_.lower_bound({stream_id, 0});
       it != cache_.end() && it->first.first == stream_id;) {
    auto& into = cache_[{0, it->first.second}];
    into.insert(into.end(), it->second.begin(), it->second.end());
    it = cache_.erase(it);
  }
}

void CudaAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_cached_locked();
}

void CudaAllocator::release_cached_locked() {
  const GpuBackend& b = cuda_backend();
  for (auto& [key, blocks] : cache_) {
    for (void* p : blocks) {
      b.free(p);
      stats_.reserved_bytes -= key.second;
    }
    blocks.clear();
  }
}

CudaAllocatorStats CudaAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CudaAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_allocated_bytes = stats_.allocated_bytes;
}

}  // namespace signet
