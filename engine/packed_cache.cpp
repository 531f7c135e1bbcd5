// The cache of packed weights: a short list searched in order, evicting dead and oldest entries.
#include "engine/packed_cache.h"

#include <utility>

namespace signet {

Tensor PackedCache::get(const Tensor& w, const std::vector<int64_t>& layout, size_t bytes,
                        const std::function<void(float*)>& pack) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Entry& e : entries_)
    if (matches(e, w, layout)) return e.packed;
  Entry e;
  e.storage = w.storage(), e.version = w.version(), e.data = w.raw_data(), e.layout = layout;
  e.packed = empty({static_cast<int64_t>(bytes + 64)}, DType::u8);
  pack(aligned(e.packed));
  ++packs_;
  evict();
  entries_.push_back(e);
  return e.packed;
}

// Rounds the tensor's first byte up to a multiple of 64 (get allocates 64 bytes more).
float* PackedCache::aligned(const Tensor& packed) {
  const uintptr_t p = reinterpret_cast<uintptr_t>(packed.raw_data());
  return reinterpret_cast<float*>((p + 63) / 64 * 64);
}

uint64_t PackedCache::packs() {
  std::lock_guard<std::mutex> lock(mutex_);
  return packs_;
}

bool PackedCache::matches(const Entry& e, const Tensor& w, const std::vector<int64_t>& layout) {
  return !e.storage.expired() && e.storage.lock() == w.storage() && e.version == w.version() &&
         e.data == w.raw_data() && e.layout == layout;
}

void PackedCache::evict() {
  std::vector<Entry> kept;
  for (Entry& e : entries_) {
    const std::shared_ptr<Storage> s = e.storage.lock();
    if (s && s->version() == e.version) kept.push_back(std::move(e));
  }
  while (kept.size() >= kSlots) kept.erase(kept.begin());
  entries_ = std::move(kept);
}

// Deliberately leaked, as the CPU allocator: packed tensors may outlive static destruction.
PackedCache& packed_cache() {
  static PackedCache* const cache = new PackedCache();
  return *cache;
}

}  // namespace signet
