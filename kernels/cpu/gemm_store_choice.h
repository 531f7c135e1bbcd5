// How v4's shared_b writes the packed B blocks its threads share: with ordinary stores or with
// streaming stores, chosen at run time by timing both.
//
// Why: when the two cores sit under different L3s (a VM host moves them; bench/RESULTS.md, "how
// far apart the two vCPUs are"), rewriting a buffer the other core has read costs a cross-L3
// invalidation per line: 6.5-7 GB/s against 37-39 GB/s under one L3. Streaming stores skip the
// read-for-ownership and ran 19-21 GB/s apart, but leave the block out of the writer's cache,
// which costs a little when the cores share an L3. Neither store wins in both states, and the
// state changes while a process runs, so each piece's packing time decides.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>

namespace signet::cpu::gemm_detail {

// Running figures of what a byte of packed B costs with each kind of store, and the choice they
// give. Thread-safe: any thread may ask and record at any time (a lost update only delays).
class BStoreChooser {
 public:
  // One piece in this many tries the kind of store that looks slower, so that a change of the
  // host's state is seen within a few calls (1024^3 packs 32 pieces a call).
  static constexpr uint32_t kExploreEvery = 16;

  // Whether the next piece should be packed with streaming stores.
  bool pick_streamed() {
    const uint32_t n = tries_.fetch_add(1, std::memory_order_relaxed);
    const float cached = cost_[0].load(std::memory_order_relaxed);
    const float streamed = cost_[1].load(std::memory_order_relaxed);
    if (cached == 0 || streamed == 0) return cached != 0;  // each kind measured once first
    const bool faster = streamed < cached;
    return n % kExploreEvery == 0 ? !faster : faster;
  }

  // Adds one piece's cost (nanoseconds per KiB written) with the given stores to its running
  // figure: an exponential mean over ~8 pieces, each sample capped at twice the figure, so that
  // one piece slowed by an interrupt does not flip the choice.
  void record(bool streamed, double ns_per_kib) {
    std::atomic<float>& cost = cost_[streamed ? 1 : 0];
    const float old = cost.load(std::memory_order_relaxed);
    const float x = static_cast<float>(ns_per_kib);
    cost.store(old == 0 ? x : old + (std::min(x, 2 * old) - old) / 8, std::memory_order_relaxed);
  }

  // The running cost of one kind of store (0 until measured), for tests and diagnostics.
  float cost(bool streamed) const { return cost_[streamed ? 1 : 0].load(); }

 private:
  std::atomic<uint32_t> tries_{0};
  std::atomic<float> cost_[2] = {0.0f, 0.0f};
};

// The process's chooser, shared by every v4 call.
BStoreChooser& b_store_chooser();

}  // namespace signet::cpu::gemm_detail
