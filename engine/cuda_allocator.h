// The caching device allocator of the cuda device: blocks rounded to size classes, freed blocks
// kept per (stream, class) and reused on the stream they were allocated on (engine/cuda_stream.h),
// device mallocs only on a miss, with statistics.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace signet {

// Counters of one device's allocator; bytes are rounded up to the size class.
struct CudaAllocatorStats {
  size_t allocated_bytes = 0;       // handed out and not yet returned
  size_t reserved_bytes = 0;        // obtained from the device (handed out + cached)
  size_t peak_allocated_bytes = 0;  // highest allocated_bytes seen
  uint64_t allocations = 0;         // calls to allocate
  uint64_t device_mallocs = 0;      // allocations that had to call the device malloc
  uint64_t cache_hits = 0;          // allocations served from the cache
};

// One allocator per cuda device index; thread-safe.
class CudaAllocator {
 public:
  // The allocator of cuda:device (checks that the device exists and makes it current).
  static CudaAllocator& instance(int device);
  // The allocator of cuda:device if something has used it, else null (creates nothing).
  static const CudaAllocator* existing(int device);
  // The highest device index an allocator can have, plus one.
  static constexpr int kMaxDevices = 64;
  // A device block of at least nbytes (a valid unique block for 0); throws signet::Error naming
  // the size when the device is out of memory even after emptying the cache.
  void* allocate(size_t nbytes);
  // Returns a block from allocate(nbytes) to the cache.
  void deallocate(void* p, size_t nbytes);
  // Frees every cached block back to the device.
  void empty_cache();
  // A snapshot of the counters.
  CudaAllocatorStats stats() const;
  // Sets peak_allocated_bytes back to allocated_bytes.
  void reset_peak();
  // Moves the cached blocks of a destroyed (and synchronised) stream to the default stream's cache,
  // and sends its blocks still in use there when they are freed.
  void forget_stream(uint64_t stream_id);
  // The bytes reserved for a request of nbytes: a multiple of 512 B below 1 MiB, of 2 MiB above.
  static size_t size_class(size_t nbytes);

 private:
  explicit CudaAllocator(int device) : device_(device) {}
  // The allocators made so far, by device; guarded by registry_mutex().
  static std::unique_ptr<CudaAllocator>* registry();
  static std::mutex& registry_mutex();
  // Frees the cached blocks; the mutex must be held.
  void release_cached_locked();

  // A block handed out: its size class and the id of the stream it was allocated on.
  struct Block {
    size_t size_class;
    uint64_t stream;
  };

  int device_;
  mutable std::mutex mutex_;
  std::unordered_map<void*, Block> live_;
  std::map<std::pair<uint64_t, size_t>, std::vector<void*>> cache_;  // (stream, class) -> blocks
  std::set<uint64_t> forgotten_streams_;
  CudaAllocatorStats stats_;
};

}  // namespace signet
