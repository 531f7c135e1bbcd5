// Packed forms of weight tensors cached by the weight's storage identity, version counter and
// first element (DESIGN.md): a weight packs once per version and layout however many calls use
// it (ConvLSTM steps, evaluation, an LSTM's forward and backward); an optimizer step bumps the
// version and the next call repacks. Used by conv v3 and the fused LSTM steps.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/tensor.h"

namespace signet {

// The first value of every layout key: whose packing it is.
enum PackedKind : int64_t {
  kConvV3Packing = 1,
  kLstmStepsForwardPacking,
  kLstmStepsBackwardPacking
};

// The process-wide cache of packed weights; thread-safe.
class PackedCache {
 public:
  // The packed form of w in `layout` (everything the packing depends on besides w's values: the
  // op, the pass, the shapes, the SIMD path), `bytes` long: cached, or made on a miss by
  // pack(out) into a new 64-byte aligned block. The caller keeps the returned tensor while it
  // reads the packing (a later call may evict it from the cache); aligned() gives its floats.
  Tensor get(const Tensor& w, const std::vector<int64_t>& layout, size_t bytes,
             const std::function<void(float*)>& pack);
  // The 64-byte aligned floats of a tensor from get().
  static float* aligned(const Tensor& packed);
  // How many packings get() has made since the program started (its misses).
  uint64_t packs();

 private:
  // One packing: the storage, version and element it was packed from, its layout, the floats.
  struct Entry {
    std::weak_ptr<Storage> storage;
    uint64_t version = 0;
    const void* data = nullptr;
    std::vector<int64_t> layout;
    Tensor packed;
  };
  static constexpr size_t kSlots = 16;

  // True when e was packed from w's storage at its current version in `layout`.
  static bool matches(const Entry& e, const Tensor& w, const std::vector<int64_t>& layout);
  // Drops entries whose storage is gone or outdated, then the oldest while full.
  void evict();

  std::mutex mutex_;
  std::vector<Entry> entries_;
  uint64_t packs_ = 0;
};

// The one cache.
PackedCache& packed_cache();

}  // namespace signet
