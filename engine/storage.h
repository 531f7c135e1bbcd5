// Storage: one block of device memory shared by a tensor and its views, with the version
// counter that in-place ops bump and autograd checks.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "engine/dtype.h"

namespace signet {

class Storage {
 public:
  // Allocates nbytes on device through its caching allocator.
  Storage(size_t nbytes, Device device);
  // Returns the block to the allocator.
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  // How many in-place modifications this storage has seen.
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  // Records an in-place modification.
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  std::atomic<uint64_t> version_{0};
};

}  // namespace signet
