// The CPU caching allocator: size classes, a bounded per-class free list, live-block tracking.
#include "engine/allocator.h"

#include <cerrno>
#include <cstdlib>
#include <iterator>
#include <string>

#include "engine/error.h"

namespace signet {

namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kSmallLimit = size_t(1) << 20;  // 1 MiB
constexpr size_t kMaxRequest = size_t(1) << 48;  // beyond any real address space
constexpr size_t kDefaultCacheLimit = size_t(1) << 30;

// Reads SIGNET_CPU_CACHE_MB (a whole number of mebibytes) or returns the default limit.
size_t cache_limit_from_env() {
  const char* text = std::getenv("SIGNET_CPU_CACHE_MB");
  if (text == nullptr || *text == '\0') return kDefaultCacheLimit;
  char* end = nullptr;
  errno = 0;
  const unsigned long long mb = std::strtoull(text, &end, 10);
  SIGNET_CHECK(*end == '\0' && errno == 0 && text[0] != '-' && mb <= (kMaxRequest >> 20),
               "SIGNET_CPU_CACHE_MB must be a whole number of mebibytes, got '", text, "'");
  return size_t(mb) << 20;
}

}  // namespace

CpuAllocator& CpuAllocator::instance() {
  // Deliberately leaked: tensors owned by other static objects are freed during static
  // destruction, possibly after a function-local static allocator would have been destroyed.
  static CpuAllocator* const allocator = new CpuAllocator();
  return *allocator;
}

CpuAllocator::CpuAllocator() : cache_limit_(cache_limit_from_env()) {}

// Size classes: requests up to 1 MiB round up to a multiple of 64 bytes (0 -> 64); larger
// ones round up to one of 4 evenly spaced sizes per power of two, i.e. in (2^k, 2^(k+1)] to a
// multiple of 2^(k-2), wasting at most 25%.
size_t CpuAllocator::size_class(size_t nbytes) {
  if (nbytes <= kSmallLimit)
    return nbytes == 0 ? kAlignment : (nbytes + kAlignment - 1) & ~(kAlignment - 1);
  size_t power = kSmallLimit;
  while (2 * power < nbytes) power <<= 1;  // now power < nbytes <= 2 * power
  const size_t step = power / 4;
  return (nbytes + step - 1) / step * step;
}

void* CpuAllocator::allocate(size_t nbytes) {
  const size_t cls = nbytes <= kMaxRequest ? size_class(nbytes) : 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.allocations;
    SIGNET_CHECK(nbytes <= kMaxRequest, "CpuAllocator: cannot allocate ", nbytes,
                 " bytes (request too large)");
    auto it = cache_.find(cls);
    if (it != cache_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      stats_.cached_bytes -= cls;
      ++stats_.cache_hits;
      record_live_locked(p, cls);
      return p;
    }
  }
  void* p = std::aligned_alloc(kAlignment, cls);
  if (p == nullptr) {
    empty_cache();  // cached blocks of other classes may be what stands in the way
    p = std::aligned_alloc(kAlignment, cls);
  }
  SIGNET_CHECK(p != nullptr, "CpuAllocator: out of memory allocating ", nbytes, " bytes (", cls,
               " with rounding)");
  std::lock_guard<std::mutex> lock(mutex_);
  record_live_locked(p, cls);
  return p;
}

void CpuAllocator::deallocate(void* p, size_t nbytes) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto it = live_.find(p);
  SIGNET_CHECK(it != live_.end(), "CpuAllocator: deallocate of pointer ", p,
               " that this allocator did not hand out (or already freed)");
  const size_t cls = it->second;
  SIGNET_CHECK(nbytes <= kMaxRequest && size_class(nbytes) == cls, "CpuAllocator: deallocate of ",
               p, " with ", nbytes, " bytes, but it was allocated in the ", cls,
               "-byte size class");
  live_.erase(it);
  stats_.allocated_bytes -= cls;
  if (stats_.cached_bytes + cls > cache_limit_) {
    lock.unlock();
    std::free(p);
    return;
  }
  cache_[cls].push_back(p);
  stats_.cached_bytes += cls;
}

void CpuAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  trim_locked(0);
}

AllocatorStats CpuAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CpuAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_allocated_bytes = stats_.allocated_bytes;
}

size_t CpuAllocator::cache_limit() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cache_limit_;
}

void CpuAllocator::set_cache_limit(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  cache_limit_ = bytes;
  trim_locked(bytes);
}

void CpuAllocator::record_live_locked(void* p, size_t cls) {
  live_.emplace(p, cls);
  stats_.allocated_bytes += cls;
  if (stats_.allocated_bytes > stats_.peak_allocated_bytes)
    stats_.peak_allocated_bytes = stats_.allocated_bytes;
}

void CpuAllocator::trim_locked(size_t limit) {
  for (auto it = cache_.begin(); it != cache_.end() && stats_.cached_bytes > limit;) {
    std::vector<void*>& blocks = it->second;
    while (!blocks.empty() && stats_.cached_bytes > limit) {
      std::free(blocks.back());
      blocks.pop_back();
      stats_.cached_bytes -= it->first;
    }
    it = blocks.empty() ? cache_.erase(it) : std::next(it);
  }
}

}  // namespace signet
