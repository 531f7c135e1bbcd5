// The CPU caching allocator: 64-byte aligned blocks, reused by size class, with statistics.
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace signet {

// Counters of one allocator; bytes are rounded up to the size class.
struct AllocatorStats {
  size_t allocated_bytes = 0;       // handed out and not yet returned
  size_t peak_allocated_bytes = 0;  // highest allocated_bytes seen
  size_t cached_bytes = 0;          // returned and kept for reuse
  uint64_t allocations = 0;         // calls to allocate
  uint64_t cache_hits = 0;          // allocations served from the cache
};

// Process-wide CPU allocator; thread-safe.
class CpuAllocator {
 public:
  // The one instance.
  static CpuAllocator& instance();
  // Returns a 64-byte aligned block of at least nbytes (a valid unique block for nbytes == 0);
  // throws signet::Error naming the size when memory is exhausted.
  void* allocate(size_t nbytes);
  // Returns a block from allocate(nbytes) to the cache.
  void deallocate(void* p, size_t nbytes);
  // Frees every cached block back to the system.
  void empty_cache();
  // A snapshot of the counters.
  AllocatorStats stats() const;
  // Sets peak_allocated_bytes back to allocated_bytes.
  void reset_peak();

  // The bytes actually reserved for a request of nbytes (its size class).
  static size_t size_class(size_t nbytes);
  // The most bytes kept cached (default 1 GiB, or SIGNET_CPU_CACHE_MB mebibytes).
  size_t cache_limit() const;
  // Sets the cache limit and frees cached blocks until the cache fits in it.
  void set_cache_limit(size_t bytes);

 private:
  CpuAllocator();
  // Frees cached blocks until cached_bytes <= limit; the mutex must be held.
  void trim_locked(size_t limit);
  // Records p as handed out in size class cls and updates the counters; the mutex must be held.
  void record_live_locked(void* p, size_t cls);

  mutable std::mutex mutex_;
  std::unordered_map<void*, size_t> live_;                // block -> its size class
  std::unordered_map<size_t, std::vector<void*>> cache_;  // size class -> free blocks
  AllocatorStats stats_;
  size_t cache_limit_ = 0;
};

}  // namespace signet
