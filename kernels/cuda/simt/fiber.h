// Fibers for the host SIMT mode: each CUDA thread runs on its own stack and gives the OS thread
// back only at barriers and warp collectives, so a block of 256 threads is 256 fibers on one core.
// The switch is hand-written for x86-64 and aarch64; other machines use ucontext.
// Under AddressSanitizer and ThreadSanitizer every switch is announced to the sanitizer.
#pragma once
#include <cstddef>
#include <vector>

#if defined(__x86_64__) && !defined(SIGNET_SIMT_UCONTEXT)
#define SIGNET_SIMT_X86_64_SWITCH 1
#define SIGNET_SIMT_ASM_SWITCH 1
#elif defined(__aarch64__) && !defined(SIGNET_SIMT_UCONTEXT)
#define SIGNET_SIMT_AARCH64_SWITCH 1
#define SIGNET_SIMT_ASM_SWITCH 1
#else
#include <ucontext.h>
#endif

namespace signet::simt {

// A suspended fiber: its saved stack pointer (the registers sit on its stack) or a ucontext,
// plus what the sanitizers need to know about its stack. A default Context stands for the OS
// thread's own stack, the one the scheduler runs on.
struct Context {
  Context() = default;
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

#if defined(SIGNET_SIMT_ASM_SWITCH)
  void* sp = nullptr;
#else
  ucontext_t uc;
#endif
  void (*fn)(void*) = nullptr;
  void* arg = nullptr;
  const void* stack = nullptr;  // lowest address; null for an OS thread's own stack
  size_t stack_bytes = 0;
  void* asan_fake_stack = nullptr;
  void* tsan_fiber = nullptr;
};

// How a switch orders memory for ThreadSanitizer. kSync makes all the leaving fiber did visible
// to the arriving one; kNoSync does not, so TSan reports shared accesses that only a barrier or
// warp collective (sync_release/sync_acquire) may order; kFinal is a fiber's last switch.
enum class Switch { kSync, kNoSync, kFinal };

// Prepares `ctx` so that the first switch to it calls fn(arg) on the stack [base, base + bytes).
// fn must never return: a finished fiber switches away for good with Switch::kFinal.
void context_init(Context* ctx, char* base, size_t bytes, void (*fn)(void*), void* arg);
// Saves the running fiber into `from` and resumes `to`; returns when someone switches back.
void context_switch(Context* from, Context* to, Switch kind);

// ThreadSanitizer happens-before edges through `token` (no-ops in other builds).
void sync_release(const void* token);
void sync_acquire(const void* token);
// Hides the scheduler's own bookkeeping accesses from ThreadSanitizer (no-ops otherwise).
void sanitizer_ignore_begin();
void sanitizer_ignore_end();

// Fiber stacks, mapped on first use and kept for the next block. Each sits above a PROT_NONE
// guard page, so a stack overflow faults at once instead of corrupting a neighbour.
class StackPool {
 public:
  explicit StackPool(size_t bytes) : bytes_(bytes) {}
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;
  // Lowest usable address of stack i, or nullptr when it cannot be mapped.
  char* stack(size_t i);
  size_t bytes() const { return bytes_; }

 private:
  size_t bytes_;
  std::vector<char*> maps_;  // each mapping: guard page, then bytes_ of stack
};

}  // namespace signet::simt
