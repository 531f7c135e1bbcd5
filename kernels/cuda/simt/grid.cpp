#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels/cuda/simt/block.h"

namespace signet::simt {
namespace {

// OS worker threads, each with its own BlockRunner; they take the blocks of a launch in index
// order from a shared counter, like streaming multiprocessors taking blocks from the grid.
class WorkerPool {
 public:
  WorkerPool(unsigned workers, size_t stack_bytes) {
    for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([=] { work(stack_bytes); });
  }

  // Stops and joins the workers at program exit.
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  // Runs all blocks; returns the error of the lowest failing block index, or "".
  std::string run(const GridLaunch& launch, Order order, uint64_t seed) {
    std::lock_guard<std::mutex> one_launch_at_a_time(launch_mutex_);
    std::unique_lock<std::mutex> lock(mutex_);
    launch_ = &launch;
    order_ = order;
    seed_ = seed;
    total_ = uint64_t(launch.grid.x) * launch.grid.y * launch.grid.z;
    next_ = 0;
    failed_ = false;
    error_block_ = UINT64_MAX;
    error_.clear();
    busy_ = unsigned(threads_.size());
    ++generation_;
    wake_.notify_all();
    done_.wait(lock, [&] { return busy_ == 0; });
    return error_;
  }

 private:
  // One worker: wait for a launch, run blocks until none is left (or one failed), report.
  void work(size_t stack_bytes) {
    BlockRunner runner(stack_bytes);
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      const GridLaunch& launch = *launch_;
      lock.unlock();
      const dim3 g = launch.grid;
      for (uint64_t b = next_++; b < total_ && !failed_; b = next_++) {
        const uint3 index{unsigned(b % g.x), unsigned(b / g.x % g.y), unsigned(b / g.x / g.y)};
        std::string error = runner.run(launch, index, order_, seed_);
        if (error.empty()) continue;
        std::lock_guard<std::mutex> guard(mutex_);
        failed_ = true;
        if (b < error_block_) {
          error_block_ = b;
          error_ = std::move(error);
        }
      }
      lock.lock();
      if (--busy_ == 0) done_.notify_all();
    }
  }

  std::mutex launch_mutex_, mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> threads_;
  const GridLaunch* launch_ = nullptr;
  Order order_ = Order::kForward;
  uint64_t seed_ = 0, total_ = 0, generation_ = 0, error_block_ = UINT64_MAX;
  std::atomic<uint64_t> next_{0};
  std::atomic<bool> failed_{false};
  unsigned busy_ = 0;
  bool stop_ = false;
  std::string error_;
};

// OS threads for cooperative launches, one per block so that all blocks are co-resident, each
// with its own BlockRunner; the pool grows to the largest grid seen and is kept (threads, fibers
// and stacks) from one launch to the next, like WorkerPool.
class CooperativePool {
 public:
  explicit CooperativePool(size_t stack_bytes) : stack_bytes_(stack_bytes) {}

  // Stops and joins the threads at program exit.
  ~CooperativePool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  // Runs block b on thread b with a fresh grid barrier; returns the error of the lowest block
  // that failed first-hand (not by a barrier that others left), else the lowest other one, or "".
  std::string run(const GridLaunch& launch, Order order, uint64_t seed) {
    std::lock_guard<std::mutex> one_launch_at_a_time(launch_mutex_);
    const dim3 g = launch.grid;
    const uint64_t total = uint64_t(g.x) * g.y * g.z;
    GridBarrier barrier(total);
    GridLaunch co = launch;
    co.barrier = &barrier;
    std::unique_lock<std::mutex> lock(mutex_);
    while (threads_.size() < total) {
      const size_t index = threads_.size();
      threads_.emplace_back([this, index] { work(index); });
    }
    launch_ = &co;
    order_ = order;
    seed_ = seed;
    total_ = total;
    errors_.assign(total, std::string());
    busy_ = total;
    ++generation_;
    wake_.notify_all();
    done_.wait(lock, [&] { return busy_ == 0; });
    std::string abandoned;
    for (const std::string& e : errors_) {
      if (e.empty()) continue;
      if (e.find(kGridBarrierAbandoned) == std::string::npos) return e;
      if (abandoned.empty()) abandoned = e;
    }
    return abandoned;
  }

 private:
  // Thread `index`: run block `index` of each launch that has one, then leave its barrier.
  void work(size_t index) {
    BlockRunner runner(stack_bytes_);
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (index >= total_) continue;
      const GridLaunch& launch = *launch_;
      const Order order = order_;
      const uint64_t seed = seed_;
      lock.unlock();
      const dim3 g = launch.grid;
      const uint3 block{unsigned(index % g.x), unsigned(index / g.x % g.y),
                        unsigned(index / g.x / g.y)};
      std::string error = runner.run(launch, block, order, seed);
      launch.barrier->leave(!error.empty());
      lock.lock();
      errors_[index] = std::move(error);
      if (--busy_ == 0) done_.notify_all();
    }
  }

  size_t stack_bytes_;
  std::mutex launch_mutex_, mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> threads_;
  const GridLaunch* launch_ = nullptr;
  Order order_ = Order::kForward;
  uint64_t seed_ = 0, total_ = 0, generation_ = 0, busy_ = 0;
  std::vector<std::string> errors_;
  bool stop_ = false;
};

}  // namespace

std::string run_grid(const GridLaunch& launch) {
  const Options o = options();
  static WorkerPool pool(o.workers, o.stack_bytes);
  return pool.run(launch, o.order, o.seed);
}

std::string run_grid_cooperative(const GridLaunch& launch) {
  const Options o = options();
  static CooperativePool pool(o.stack_bytes);
  return pool.run(launch, o.order, o.seed);
}

}  // namespace signet::simt
