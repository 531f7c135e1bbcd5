// Tests of the CPU caching allocator: alignment, size classes, reuse, statistics, errors, threads.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/allocator.h"
#include "engine/error.h"

namespace signet {
namespace {

constexpr size_t kMiB = size_t(1) << 20;

// Restores the cache limit a test changed.
class CacheLimitGuard {
 public:
  CacheLimitGuard() : saved_(CpuAllocator::instance().cache_limit()) {}
  ~CacheLimitGuard() { CpuAllocator::instance().set_cache_limit(saved_); }

 private:
  size_t saved_;
};

TEST(CpuAllocator, SizeClasses) {
  EXPECT_EQ(CpuAllocator::size_class(0), 64u);
  EXPECT_EQ(CpuAllocator::size_class(1), 64u);
  EXPECT_EQ(CpuAllocator::size_class(64), 64u);
  EXPECT_EQ(CpuAllocator::size_class(65), 128u);
  EXPECT_EQ(CpuAllocator::size_class(4097), 4160u);
  EXPECT_EQ(CpuAllocator::size_class(kMiB), kMiB);
  EXPECT_EQ(CpuAllocator::size_class(kMiB + 1), kMiB + kMiB / 4);
  EXPECT_EQ(CpuAllocator::size_class(3 * kMiB), 3 * kMiB);
  EXPECT_EQ(CpuAllocator::size_class(3 * kMiB + 1), 3 * kMiB + kMiB / 2);
  EXPECT_EQ(CpuAllocator::size_class(4 * kMiB + 1), 5 * kMiB);
  for (size_t n = 0; n < 70 * kMiB; n = n * 5 / 4 + 7) {
    const size_t c = CpuAllocator::size_class(n);
    EXPECT_GE(c, n);
    EXPECT_EQ(c % 64, 0u);
    EXPECT_LE(c, n + n / 4 + 64) << n;
  }
}

TEST(CpuAllocator, Alignment) {
  CpuAllocator& a = CpuAllocator::instance();
  const size_t sizes[] = {0, 1, 63, 64, 65, 100, 4095, 4096, 4097, 65537, kMiB, kMiB + 1, 3000000};
  std::vector<std::pair<void*, size_t>> blocks;
  for (size_t n : sizes) {
    void* p = a.allocate(n);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << n;
    std::memset(p, 0xAB, CpuAllocator::size_class(n));  // the whole class is usable
    blocks.emplace_back(p, n);
  }
  for (size_t i = 0; i < blocks.size(); ++i)
    for (size_t j = i + 1; j < blocks.size(); ++j) EXPECT_NE(blocks[i].first, blocks[j].first);
  for (auto& b : blocks) a.deallocate(b.first, b.second);
}

TEST(CpuAllocator, ReusesCachedBlockOfSameClass) {
  CpuAllocator& a = CpuAllocator::instance();
  CacheLimitGuard guard;
  a.set_cache_limit(size_t(1) << 30);
  void* p = a.allocate(1000);
  a.deallocate(p, 1000);
  const AllocatorStats before = a.stats();
  void* q = a.allocate(1020);  // same 1024-byte class
  const AllocatorStats after = a.stats();
  EXPECT_EQ(q, p);
  EXPECT_EQ(after.allocations - before.allocations, 1u);
  EXPECT_EQ(after.cache_hits - before.cache_hits, 1u);
  EXPECT_EQ(before.cached_bytes - after.cached_bytes, 1024u);
  a.deallocate(q, 1020);
}

TEST(CpuAllocator, StatsArithmetic) {
  CpuAllocator& a = CpuAllocator::instance();
  CacheLimitGuard guard;
  a.set_cache_limit(size_t(1) << 30);
  a.empty_cache();
  a.reset_peak();
  const AllocatorStats s0 = a.stats();
  EXPECT_EQ(s0.peak_allocated_bytes, s0.allocated_bytes);
  EXPECT_EQ(s0.cached_bytes, 0u);

  void* p1 = a.allocate(100);           // class 128
  void* p2 = a.allocate(2 * kMiB + 5);  // class 2.5 MiB
  const size_t c2 = 2 * kMiB + kMiB / 2;
  AllocatorStats s = a.stats();
  EXPECT_EQ(s.allocated_bytes - s0.allocated_bytes, 128 + c2);
  EXPECT_EQ(s.peak_allocated_bytes - s0.allocated_bytes, 128 + c2);
  EXPECT_EQ(s.allocations - s0.allocations, 2u);
  EXPECT_EQ(s.cache_hits - s0.cache_hits, 0u);

  a.deallocate(p2, 2 * kMiB + 5);
  s = a.stats();
  EXPECT_EQ(s.allocated_bytes - s0.allocated_bytes, 128u);
  EXPECT_EQ(s.peak_allocated_bytes - s0.allocated_bytes, 128 + c2);
  EXPECT_EQ(s.cached_bytes, c2);

  void* p3 = a.allocate(2 * kMiB + 100);  // same class: served from the cache
  EXPECT_EQ(p3, p2);
  s = a.stats();
  EXPECT_EQ(s.cached_bytes, 0u);
  EXPECT_EQ(s.cache_hits - s0.cache_hits, 1u);
  EXPECT_EQ(s.allocations - s0.allocations, 3u);

  a.deallocate(p1, 100);
  a.deallocate(p3, 2 * kMiB + 100);
  s = a.stats();
  EXPECT_EQ(s.allocated_bytes, s0.allocated_bytes);
  EXPECT_EQ(s.cached_bytes, 128 + c2);
  a.reset_peak();
  EXPECT_EQ(a.stats().peak_allocated_bytes, s0.allocated_bytes);

  a.empty_cache();
  EXPECT_EQ(a.stats().cached_bytes, 0u);
  EXPECT_EQ(a.stats().allocated_bytes, s0.allocated_bytes);
}

TEST(CpuAllocator, CacheLimitFreesBlocksOverIt) {
  CpuAllocator& a = CpuAllocator::instance();
  CacheLimitGuard guard;
  a.empty_cache();
  a.set_cache_limit(4096);
  void* p1 = a.allocate(4096);
  void* p2 = a.allocate(4096);
  a.deallocate(p1, 4096);
  a.deallocate(p2, 4096);  // would exceed the limit: freed
  EXPECT_EQ(a.stats().cached_bytes, 4096u);
  a.set_cache_limit(0);  // trims what is cached
  EXPECT_EQ(a.stats().cached_bytes, 0u);
  void* p3 = a.allocate(10);
  a.deallocate(p3, 10);
  EXPECT_EQ(a.stats().cached_bytes, 0u);
}

TEST(CpuAllocator, EmptyCacheDropsCachedBytes) {
  CpuAllocator& a = CpuAllocator::instance();
  std::vector<void*> blocks;
  for (size_t n = 1; n < 8 * kMiB; n *= 3) blocks.push_back(a.allocate(n));
  size_t n = 1;
  for (void* p : blocks) {
    a.deallocate(p, n);
    n *= 3;
  }
  a.empty_cache();
  EXPECT_EQ(a.stats().cached_bytes, 0u);
}

TEST(CpuAllocator, BadDeallocateThrows) {
  CpuAllocator& a = CpuAllocator::instance();
  const AllocatorStats s0 = a.stats();
  alignas(64) char local[64];
  EXPECT_THROW(a.deallocate(local, sizeof(local)), Error);
  EXPECT_THROW(a.deallocate(nullptr, 0), Error);
  void* p = a.allocate(256);
  EXPECT_THROW(a.deallocate(p, 4096), Error);  // wrong size class: the block stays live
  a.deallocate(p, 256);
  EXPECT_THROW(a.deallocate(p, 256), Error);  // double free
  EXPECT_EQ(a.stats().allocated_bytes, s0.allocated_bytes);
}

TEST(CpuAllocator, HugeRequestThrowsNamingSize) {
  CpuAllocator& a = CpuAllocator::instance();
  const size_t huge = size_t(1) << 60;
  try {
    a.allocate(huge);
    FAIL() << "expected signet::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(huge)), std::string::npos) << e.what();
  }
}

TEST(CpuAllocator, ThreadedStressKeepsBlocksDisjoint) {
  CpuAllocator& a = CpuAllocator::instance();
  const size_t start = a.stats().allocated_bytes;
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&a, &failures, t] {
      std::mt19937 rng(1234 + t);
      struct Block {
        unsigned char* p;
        size_t n;
        unsigned char tag;
      };
      std::vector<Block> live;
      for (int i = 0; i < 3000; ++i) {
        if (live.size() < 32 && (live.empty() || rng() % 2 == 0)) {
          const size_t n = rng() % 16 == 0 ? rng() % (3 * kMiB) : rng() % 5000;
          auto* p = static_cast<unsigned char*>(a.allocate(n));
          if (reinterpret_cast<uintptr_t>(p) % 64 != 0) ++failures[t];
          const auto tag = static_cast<unsigned char>(t * 61 + i);
          std::memset(p, tag, n);
          live.push_back({p, n, tag});
        } else {
          const size_t k = rng() % live.size();
          const Block b = live[k];
          for (size_t j = 0; j < b.n; ++j)
            if (b.p[j] != b.tag) {
              ++failures[t];
              break;
            }
          a.deallocate(b.p, b.n);
          live[k] = live.back();
          live.pop_back();
        }
      }
      for (const Block& b : live) {
        if (b.n > 0 && b.p[b.n - 1] != b.tag) ++failures[t];
        a.deallocate(b.p, b.n);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
  EXPECT_EQ(a.stats().allocated_bytes, start);
}

}  // namespace
}  // namespace signet
