#include "kernels/cuda/simt/block.h"

#include "kernels/cuda/simt/static_shared.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <numeric>
#include <thread>

namespace signet::simt {
namespace {

thread_local BlockRunner* tls_runner = nullptr;

std::mutex options_mutex;

// Parses SIGNET_SIMT_* once; a bad value is reported and the default kept.
Options& options_storage() {
  static Options o = [] {
    Options d{Order::kForward, 0, std::max(1u, std::thread::hardware_concurrency()), 128 << 10,
              true};
    if (const char* s = std::getenv("SIGNET_SIMT_ORDER")) {
      if (!std::strcmp(s, "forward"))
        d.order = Order::kForward;
      else if (!std::strcmp(s, "reverse"))
        d.order = Order::kReverse;
      else if (!std::strcmp(s, "random"))
        d.order = Order::kRandom;
      else
        std::fprintf(stderr, "simt: SIGNET_SIMT_ORDER=%s ignored (forward|reverse|random)\n", s);
    }
    if (const char* s = std::getenv("SIGNET_SIMT_PROTECT")) d.protect_device_memory = *s != '0';
    if (const char* s = std::getenv("SIGNET_SIMT_SEED")) d.seed = std::strtoull(s, nullptr, 10);
    if (const char* s = std::getenv("SIGNET_SIMT_WORKERS"))
      d.workers = unsigned(std::max(1L, std::strtol(s, nullptr, 10)));
    if (const char* s = std::getenv("SIGNET_SIMT_STACK_KB"))
      d.stack_bytes = size_t(std::max(16L, std::strtol(s, nullptr, 10))) << 10;
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    d.stack_bytes = (d.stack_bytes + page - 1) / page * page;
    return d;
  }();
  return o;
}

// The calling thread's runner; using a CUDA intrinsic outside a kernel is a programming error.
BlockRunner& runner(const char* what) {
  BlockRunner* r = BlockRunner::current();
  if (!r) {
    std::fprintf(stderr, "simt: %s called outside a kernel\n", what);
    std::abort();
  }
  return *r;
}

// A power of two from 1 to 32, as the shuffle width must be.
bool valid_width(int w) {
  return w >= 1 && w <= 32 && (w & (w - 1)) == 0;
}

// The source lane of a shuffle as the PTX ISA defines shfl.sync: segmask = 32 - width, maxLane =
// the segment's end (its start for .up); a source outside [start, end] means the own lane.
int shuffle_source(WarpOp op, int lane, int arg, int width) {
  const int seg = 32 - width;
  const int min_lane = lane & seg;
  const int max_lane = op == WarpOp::kShflUp ? min_lane : (min_lane | (31 & ~seg));
  switch (op) {
    case WarpOp::kShflIdx:
      return min_lane | (arg & 31 & ~seg);
    case WarpOp::kShflUp:
      return lane - arg >= max_lane ? lane - arg : lane;
    case WarpOp::kShflDown:
      return lane + arg <= max_lane ? lane + arg : lane;
    case WarpOp::kShflXor:
      return (lane ^ arg) <= max_lane ? lane ^ arg : lane;
    default:
      return lane;
  }
}

}  // namespace

Options options() {
  std::lock_guard<std::mutex> lock(options_mutex);
  return options_storage();
}

void set_thread_order(Order order) {
  std::lock_guard<std::mutex> lock(options_mutex);
  options_storage().order = order;
}

Order thread_order() {
  return options().order;
}

BlockRunner* BlockRunner::current() {
  return tls_runner;
}

// The scheduler's own reads and writes of fiber state are hidden from ThreadSanitizer, so that
// what it reports are the kernel's races.
std::string BlockRunner::run(const GridLaunch& launch, uint3 index, Order order, uint64_t seed) {
  sanitizer_ignore_begin();
  std::string error = schedule(launch, index, order, seed);
  sanitizer_ignore_end();
  return error;
}

// Starts fibers for every thread, then runs rounds: each runnable thread (in the chosen order)
// runs until it waits or exits; between rounds the completed collectives are released.
std::string BlockRunner::schedule(const GridLaunch& launch, uint3 index, Order order,
                                  uint64_t seed) {
  const dim3 b = launch.block;
  const unsigned n = b.x * b.y * b.z;
  threads_.assign(n, ThreadState{});
  while (contexts_.size() < n) contexts_.emplace_back();
  for (unsigned i = 0; i < n; ++i) {
    char* stack = stacks_.stack(i);
    if (!stack) return "simt: cannot map a fiber stack (SIGNET_SIMT_STACK_KB too large?)";
    ThreadState& t = threads_[i];
    t.ctx = &contexts_[i];
    t.tid = uint3{i % b.x, i / b.x % b.y, i / (b.x * b.y)};
    t.linear = i;
    context_init(t.ctx, stack, stacks_.bytes(), &BlockRunner::fiber_main, &t);
  }
  // Fresh shared memory reads as NaN (kSharedNaNWord is a NaN as float and in pairs as
  // double), so a read before any write shows up in the results.
  const size_t words = (launch.shmem + 3) / 4;
  if (words > arena_words_ || !arena_) {
    arena_.reset(new uint32_t[words + 2 * kGuardWords]);
    arena_words_ = words;
  }
  std::fill_n(arena_.get(), kGuardWords, kGuard);
  std::fill_n(arena_.get() + kGuardWords, words, kSharedNaNWord);
  std::fill_n(arena_.get() + kGuardWords + words, kGuardWords, kGuard);
  fill_static_shared();

  blockIdx = index;
  blockDim = b;
  gridDim = launch.grid;
  body_ = launch.body.get();
  grid_barrier_ = launch.barrier;
  exited_ = 0;
  error_.clear();
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0u);
  if (order == Order::kReverse) std::reverse(order_.begin(), order_.end());
  const uint64_t block_linear =
      index.x + uint64_t(launch.grid.x) * (index.y + launch.grid.y * index.z);
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + block_linear);

  tls_runner = this;
  while (error_.empty() && exited_ < n) {
    if (order == Order::kRandom) std::shuffle(order_.begin(), order_.end(), rng);
    for (unsigned i : order_) {
      if (!error_.empty()) break;
      if (threads_[i].wait == Wait::kRunnable) resume(threads_[i]);
    }
    if (!error_.empty() || exited_ == n) break;
    if (!release_warps() && error_.empty() && !release_barrier() && error_.empty())
      error_ = stuck_report();
  }
  if (!error_.empty()) {
    // Unwind the threads still waiting (their collective throws BlockAborted), so each fiber
    // ends cleanly: locals destroyed, sanitizers told, nothing left half-way on a stack.
    for (ThreadState& t : threads_) {
      if (t.started && t.wait != Wait::kExited) {
        t.abort = true;
        resume(t);
      }
    }
  }
  tls_runner = nullptr;
  if (error_.empty()) error_ = check_guards(words);
  return error_;
}

// Reports writes into the canaries around `words` words of dynamic shared memory.
std::string BlockRunner::check_guards(size_t words) const {
  const uint32_t* below = arena_.get();
  const uint32_t* above = below + kGuardWords + words;
  size_t before = 0, after = 0;
  for (size_t i = 0; i < kGuardWords; ++i) {
    if (below[i] != kGuard) before = std::max(before, (kGuardWords - i) * 4);
    if (above[i] != kGuard) after = std::max(after, (i + 1) * 4);
  }
  if (!before && !after) return "";
  std::string s = "simt: block (" + std::to_string(blockIdx.x) + "," + std::to_string(blockIdx.y) +
                  "," + std::to_string(blockIdx.z) + ") wrote outside its " +
                  std::to_string(words * 4) + " bytes of dynamic shared memory:";
  if (before) s += " up to " + std::to_string(before) + " bytes before the start";
  if (before && after) s += " and";
  if (after) s += " up to " + std::to_string(after) + " bytes past the end";
  return s;
}

// Entry of every fiber: run the kernel, then leave for good.
void BlockRunner::fiber_main(void* thread) {
  auto* t = static_cast<ThreadState*>(thread);
  BlockRunner* r = tls_runner;
  try {
    r->body_->run();
  } catch (const BlockAborted&) {
  }
  t->wait = Wait::kExited;
  context_switch(t->ctx, &r->scheduler_, Switch::kFinal);
  std::abort();  // an exited fiber is never resumed
}

// Switches to thread t; returns when it waits or exits. A thread's start is ordered after the
// launch (and the block before), its later resumptions only by collectives.
void BlockRunner::resume(ThreadState& t) {
  running_ = &t;
  threadIdx = t.tid;
  context_switch(&scheduler_, t.ctx, t.started ? Switch::kNoSync : Switch::kSync);
  t.started = true;
  running_ = nullptr;
  if (t.wait == Wait::kExited) ++exited_;
  if (!t.failure.empty() && error_.empty()) error_ = t.failure;
}

// The switch itself is runtime bookkeeping, hidden from TSan like the scheduler's.
void BlockRunner::suspend(const void* token) {
  ThreadState* t = running_;
  sync_release(token);
  sanitizer_ignore_begin();
  context_switch(t->ctx, &scheduler_, Switch::kNoSync);
  sanitizer_ignore_end();
  sync_acquire(token);
  if (t->abort) throw BlockAborted{};
}

void BlockRunner::fail(const char* what, const char* file, int line, const char* problem) {
  ThreadState* t = running_;
  t->failure = "simt: " + where(*t) + ": " + what + " at " + file + ":" + std::to_string(line) +
               ": " + problem;
  throw BlockAborted{};
}

unsigned BlockRunner::active_mask(unsigned warp) const {
  unsigned mask = 0;
  for (unsigned l = 0; l < 32 && warp * 32 + l < threads_.size(); ++l)
    if (threads_[warp * 32 + l].wait != Wait::kExited) mask |= 1u << l;
  return mask;
}

// Releases every warp collective whose participants (the lanes of its mask that exist and have
// not exited, as CUDA asks only non-exited lanes to arrive) all wait in it with the same mask,
// and computes each lane's result as the PTX ISA defines shfl.sync and vote.sync. Reading a
// lane that does not take part is undefined in CUDA, so it is reported here.
bool BlockRunner::release_warps() {
  bool released = false;
  for (ThreadState& t : threads_) {
    if (t.wait != Wait::kWarp) continue;
    const unsigned base = t.linear / 32 * 32;
    const unsigned lanes = t.mask & active_mask(t.linear / 32);
    bool ready = true;
    unsigned ballot = 0;
    for (unsigned l = 0; l < 32; ++l) {
      if (!(lanes >> l & 1)) continue;
      const ThreadState& u = threads_[base + l];
      if (u.wait != Wait::kWarp || u.mask != t.mask || u.warp_op != t.warp_op) ready = false;
      if (u.value != 0) ballot |= 1u << l;
    }
    if (!ready) continue;
    if (t.warp_op == WarpOp::kGather && lanes != 0xffffffffu) {
      error_ = warp_error(t, "needs all 32 lanes of the warp, some have exited");
      return false;
    }
    for (unsigned l = 0; l < 32; ++l) {
      if (!(lanes >> l & 1)) continue;
      ThreadState& u = threads_[base + l];
      const int j = shuffle_source(u.warp_op, int(l), int(u.arg), u.width);
      switch (u.warp_op) {
        case WarpOp::kSync:
          u.result = 0;
          break;
        case WarpOp::kBallot:
          u.result = ballot;
          break;
        case WarpOp::kAny:
          u.result = ballot != 0;
          break;
        case WarpOp::kAll:
          u.result = ballot == lanes;
          break;
        case WarpOp::kGather:
          u.published = reinterpret_cast<const void*>(u.value);
          u.result = 0;
          break;
        default:
          if (!(lanes >> j & 1)) {
            const bool exists = base + unsigned(j) < threads_.size();
            const char* why = !exists ? "does not exist"
                              : threads_[base + unsigned(j)].wait == Wait::kExited
                                  ? "has exited"
                                  : "is not in the mask";
            error_ = warp_error(u, "lane " + std::to_string(l) + " reads lane " +
                                       std::to_string(j) + ", which " + why);
            return false;
          }
          u.result = threads_[base + unsigned(j)].value;
          break;
      }
    }
    for (unsigned l = 0; l < 32; ++l)
      if (lanes >> l & 1) threads_[base + l].wait = Wait::kRunnable;
    released = true;
  }
  return released;
}

// "simt: block ... thread ...: <what> at <file>:<line>: <problem>" for thread t's collective.
std::string BlockRunner::warp_error(const ThreadState& t, const std::string& problem) const {
  return "simt: " + where(t) + ": " + t.what + " at " + t.file + ":" + std::to_string(t.line) +
         ": " + problem;
}

// Releases the block barrier when every thread waits at the same one and none has exited.
bool BlockRunner::release_barrier() {
  int count = 0;
  const ThreadState& first = threads_[0];
  for (const ThreadState& t : threads_) {
    if (t.wait != Wait::kBarrier || t.file != first.file || t.line != first.line ||
        t.barrier_op != first.barrier_op)
      return false;
    count += t.value != 0;
  }
  if (first.barrier_op == BarrierOp::kGrid) {
    const std::string problem = grid_barrier_->arrive();
    if (!problem.empty()) {
      error_ = warp_error(first, problem);
      return false;
    }
  }
  const int n = int(threads_.size());
  for (ThreadState& t : threads_) {
    switch (t.barrier_op) {
      case BarrierOp::kSync:
      case BarrierOp::kGrid:
        t.result = 0;
        break;
      case BarrierOp::kCount:
        t.result = uint64_t(count);
        break;
      case BarrierOp::kAnd:
        t.result = count == n;
        break;
      case BarrierOp::kOr:
        t.result = count != 0;
        break;
    }
    t.wait = Wait::kRunnable;
  }
  return true;
}

// Names each distinct waiting site with how many threads wait there, and the exited count.
std::string BlockRunner::stuck_report() const {
  struct Group {
    const ThreadState* first;
    unsigned count;
  };
  std::vector<Group> groups;
  for (const ThreadState& t : threads_) {
    if (t.wait == Wait::kExited) continue;
    auto same = [&](const Group& g) {
      return g.first->what == t.what && g.first->file == t.file && g.first->line == t.line &&
             (t.wait == Wait::kBarrier || g.first->mask == t.mask);
    };
    auto g = std::find_if(groups.begin(), groups.end(), same);
    if (g == groups.end())
      groups.push_back(Group{&t, 1});
    else
      ++g->count;
  }
  std::string s = "simt: block (" + std::to_string(blockIdx.x) + "," + std::to_string(blockIdx.y) +
                  "," + std::to_string(blockIdx.z) + ") of " + std::to_string(threads_.size()) +
                  " threads cannot make progress:";
  for (const Group& g : groups) {
    s += " " + std::to_string(g.count) + " wait in " + g.first->what;
    if (g.first->wait == Wait::kWarp) {
      char mask[16];
      std::snprintf(mask, sizeof mask, "0x%08x", g.first->mask);
      s += std::string(" (mask ") + mask + ", warp " + std::to_string(g.first->linear / 32) + ")";
    }
    s += " at " + std::string(g.first->file) + ":" + std::to_string(g.first->line) + ";";
  }
  return s + " " + std::to_string(exited_) + " have exited";
}

// "block (x,y,z) thread (x,y,z)" of the running thread, for error messages.
std::string BlockRunner::where(const ThreadState& t) const {
  auto xyz = [](uint3 v) {
    return "(" + std::to_string(v.x) + "," + std::to_string(v.y) + "," + std::to_string(v.z) + ")";
  };
  return "block " + xyz(blockIdx) + " thread " + xyz(t.tid);
}

int block_barrier(BarrierOp op, int pred, const char* what, const char* file, int line) {
  BlockRunner& r = runner(what);
  ThreadState& t = r.self();
  t.wait = Wait::kBarrier;
  t.barrier_op = op;
  t.value = pred != 0;
  t.what = what;
  t.file = file;
  t.line = line;
  r.suspend(r.barrier_token());
  return int(t.result);
}

uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, unsigned arg, int width,
                         const char* what, const char* file, int line) {
  BlockRunner& r = runner(what);
  ThreadState& t = r.self();
  if (!(mask >> (t.linear % 32) & 1))
    r.fail(what, file, line, "the mask does not name the calling lane");
  if (!valid_width(width)) r.fail(what, file, line, "width must be a power of two from 1 to 32");
  t.wait = Wait::kWarp;
  t.warp_op = op;
  t.mask = mask;
  t.value = value;
  t.arg = arg;
  t.width = width;
  t.what = what;
  t.file = file;
  t.line = line;
  r.suspend(r.warp_token(t.linear / 32));
  return t.result;
}

// A kGather collective over the full warp, then the 32 published pointers.
void warp_gather(const void* mine, const void* lanes[32], const char* what, const char* file,
                 int line) {
  BlockRunner& r = runner(what);
  const unsigned base = r.self().linear / 32 * 32;
  if (base + 32 > r.threads()) r.fail(what, file, line, "needs all 32 lanes of the warp");
  warp_collective(WarpOp::kGather, 0xffffffffu, reinterpret_cast<uint64_t>(mine), 0, 32, what, file,
                  line);
  for (unsigned l = 0; l < 32; ++l) lanes[l] = r.published(base + l);
}

unsigned active_mask() {
  BlockRunner& r = runner("__activemask");
  return r.active_mask(r.self().linear / 32);
}

// A block barrier whose release also waits for every other block of the cooperative launch.
void grid_sync(const char* file, int line) {
  const char* what = "this_grid().sync()";
  BlockRunner& r = runner(what);
  if (!r.grid_barrier())
    r.fail(what, file, line,
           "needs a cooperative launch (launch_cooperative_kernel): the blocks of a normal launch "
           "are not co-resident");
  ThreadState& t = r.self();
  t.wait = Wait::kBarrier;
  t.barrier_op = BarrierOp::kGrid;
  t.value = 1;
  t.what = what;
  t.file = file;
  t.line = line;
  r.suspend(r.grid_barrier()->token());
}

std::string GridBarrier::arrive() {
  std::unique_lock<std::mutex> lock(mutex_);
  const uint64_t generation = generation_;
  if (left_ == 0 && ++arrived_ == blocks_) {
    arrived_ = 0;
    ++generation_;
    all_arrived_.notify_all();
    return "";
  }
  all_arrived_.wait(lock, [&] { return generation_ != generation || left_ != 0; });
  if (generation_ != generation) return "";
  if (returned_)
    return std::to_string(returned_) + " of " + std::to_string(blocks_) + " blocks returned " +
           kGridBarrierAbandoned;
  return "another of the " + std::to_string(blocks_) + " blocks failed " + kGridBarrierAbandoned;
}

void GridBarrier::leave(bool failed) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++left_;
  returned_ += !failed;
  all_arrived_.notify_all();
}

void* dynamic_shared() {
  return runner("dynamic shared memory").shared_arena();
}

void __syncthreads(const char* file, int line) {
  block_barrier(BarrierOp::kSync, 1, "__syncthreads", file, line);
}
int __syncthreads_count(int pred, const char* file, int line) {
  return block_barrier(BarrierOp::kCount, pred, "__syncthreads_count", file, line);
}
int __syncthreads_and(int pred, const char* file, int line) {
  return block_barrier(BarrierOp::kAnd, pred, "__syncthreads_and", file, line);
}
int __syncthreads_or(int pred, const char* file, int line) {
  return block_barrier(BarrierOp::kOr, pred, "__syncthreads_or", file, line);
}
void __syncwarp(unsigned mask, const char* file, int line) {
  warp_collective(WarpOp::kSync, mask, 0, 0, 32, "__syncwarp", file, line);
}
unsigned __ballot_sync(unsigned mask, int pred, const char* file, int line) {
  return unsigned(
      warp_collective(WarpOp::kBallot, mask, pred != 0, 0, 32, "__ballot_sync", file, line));
}
int __any_sync(unsigned mask, int pred, const char* file, int line) {
  return int(warp_collective(WarpOp::kAny, mask, pred != 0, 0, 32, "__any_sync", file, line));
}
int __all_sync(unsigned mask, int pred, const char* file, int line) {
  return int(warp_collective(WarpOp::kAll, mask, pred != 0, 0, 32, "__all_sync", file, line));
}

}  // namespace signet::simt
