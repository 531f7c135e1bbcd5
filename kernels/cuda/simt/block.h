// The block scheduler of the host SIMT mode (internal to the runtime): runs the threads of one
// block as fibers on the calling worker thread, resolves barriers and warp collectives, and turns
// a block that cannot make progress into an error message instead of a hang.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/simt/fiber.h"
#include "kernels/cuda/simt/runtime.h"

namespace signet::simt {

class GridBarrier;

// One launch as the workers see it; `barrier` is set while a cooperative launch runs.
struct GridLaunch {
  std::shared_ptr<const KernelBody> body;
  dim3 grid, block;
  size_t shmem = 0;
  GridBarrier* barrier = nullptr;
};

// The grid-wide barrier of a cooperative launch, whose blocks run on their own OS threads: a
// block arrives once all its threads wait in this_grid().sync(); a block that ends (or fails)
// while others wait makes their barrier fail instead of hang.
class GridBarrier {
 public:
  explicit GridBarrier(uint64_t blocks) : blocks_(blocks) {}
  // Blocks the calling worker until every block arrives; returns "" or why it never will.
  std::string arrive();
  // Called once by each block when it ends: returned, or `failed`.
  void leave(bool failed);
  // The address that stands for this barrier in TSan: not the mutex's, whose unlock would
  // overwrite what the arriving threads released there.
  const void* token() const { return &blocks_; }

 private:
  std::mutex mutex_;
  std::condition_variable all_arrived_;
  uint64_t blocks_, arrived_ = 0, generation_ = 0, left_ = 0, returned_ = 0;
};

// Marks the errors of blocks that waited at a grid barrier which another block left.
constexpr const char* kGridBarrierAbandoned = "without reaching this grid barrier";

// Settings read from the environment once (see runtime.h), overridable by the setters.
struct Options {
  Order order;
  uint64_t seed;
  unsigned workers;
  size_t stack_bytes;
  bool protect_device_memory;
};
Options options();

// One cp.async, performed when a wait_group reaches its group.
struct AsyncCopy {
  void* dst;
  const void* src;
  int bytes;
};

// What a CUDA thread is doing, seen from the scheduler.
enum class Wait : uint8_t { kRunnable, kBarrier, kWarp, kExited };

// One CUDA thread: its fiber, where it waits, and the operands of that collective. A fiber
// writes only its own ThreadState; the scheduler reads them between rounds.
struct ThreadState {
  Context* ctx = nullptr;
  uint3 tid;
  unsigned linear = 0;
  Wait wait = Wait::kRunnable;
  bool started = false;
  const char* what = nullptr;  // intrinsic it waits in, and the call site
  const char* file = nullptr;
  int line = 0;
  BarrierOp barrier_op = BarrierOp::kSync;
  WarpOp warp_op = WarpOp::kSync;
  unsigned mask = 0;
  int width = 32;
  unsigned arg = 0;
  uint64_t value = 0;               // predicate or shuffled bits going in
  uint64_t result = 0;              // the collective's answer coming out
  const void* published = nullptr;  // this lane's pointer from the last WarpOp::kGather
  std::string failure;              // set by a thread that found a fatal misuse (see fail)
  bool abort = false;  // the block failed: leave the current collective by BlockAborted
  // cp.async copies not yet performed, and where each committed group ends in that list.
  std::vector<AsyncCopy> async_copies;
  std::vector<size_t> async_group_ends;
};

// Thrown inside a fiber to unwind its kernel when the block has failed; caught at its entry.
struct BlockAborted {};

// Runs blocks one after another on the calling OS thread, reusing fibers, stacks and the
// dynamic shared memory arena between blocks.
class BlockRunner {
 public:
  explicit BlockRunner(size_t stack_bytes) : stacks_(stack_bytes) {}
  // Runs block `index` of `launch` to its end; returns "" or what went wrong.
  std::string run(const GridLaunch& launch, uint3 index, Order order, uint64_t seed);

  // The running block's runner and thread (null outside kernels).
  static BlockRunner* current();
  ThreadState& self() { return *running_; }
  // Gives the worker back to the scheduler until this thread's wait is over; `token` orders the
  // memory of the threads meeting in one collective for ThreadSanitizer.
  void suspend(const void* token);
  // Fails the block with "<what> at <file>:<line>: <problem>" and unwinds the calling thread.
  [[noreturn]] void fail(const char* what, const char* file, int line, const char* problem);
  unsigned active_mask(unsigned warp) const;
  const void* published(unsigned linear) const { return threads_[linear].published; }
  size_t threads() const { return threads_.size(); }
  // Addresses that stand for the block barrier and for one warp's collectives in TSan.
  const void* barrier_token() const { return this; }
  // The running cooperative launch's grid barrier, or null in a normal launch.
  GridBarrier* grid_barrier() const { return grid_barrier_; }
  const void* warp_token(unsigned warp) const { return &threads_[warp * 32]; }
  void* shared_arena() { return arena_.get() + kGuardWords; }

 private:
  std::string schedule(const GridLaunch& launch, uint3 index, Order order, uint64_t seed);
  static void fiber_main(void* thread);
  void resume(ThreadState& t);
  bool release_warps();
  bool release_barrier();
  std::string stuck_report() const;
  std::string where(const ThreadState& t) const;
  std::string warp_error(const ThreadState& t, const std::string& problem) const;
  std::string check_guards(size_t words) const;

  // Canary words on both sides of the dynamic shared memory: a NaN payload, so a stray read
  // returns NaN and a stray write is found when the block ends.
  static constexpr size_t kGuardWords = 16;
  static constexpr uint32_t kGuard = 0x7fc0dead;

  StackPool stacks_;
  std::deque<Context> contexts_;  // one per thread index, kept (with its TSan fiber) across blocks
  std::vector<ThreadState> threads_;
  std::vector<unsigned> order_;
  std::unique_ptr<uint32_t[]> arena_;  // guard, dynamic shared memory, guard
  size_t arena_words_ = 0;
  Context scheduler_;
  ThreadState* running_ = nullptr;
  const KernelBody* body_ = nullptr;
  GridBarrier* grid_barrier_ = nullptr;
  unsigned exited_ = 0;
  std::string error_;
};

// Runs every block of a launch on the worker threads; returns "" or the first error found.
std::string run_grid(const GridLaunch& launch);
// Runs every block of a launch at once, each on its own OS thread, with a grid barrier; returns
// "" or the error of the lowest block that failed first-hand (not by a barrier others left).
std::string run_grid_cooperative(const GridLaunch& launch);

}  // namespace signet::simt
