#include "kernels/cuda/simt/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#define SIGNET_SIMT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIGNET_SIMT_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define SIGNET_SIMT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SIGNET_SIMT_TSAN 1
#endif
#endif

#if defined(SIGNET_SIMT_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(SIGNET_SIMT_TSAN)
#include <sanitizer/tsan_interface.h>
extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();
#endif

namespace signet::simt {
namespace {

#if defined(SIGNET_SIMT_ASAN)
thread_local Context* tls_switching_from = nullptr;
#endif

// Runs on the arriving side of every switch: completes ASan's switch protocol and learns the
// bounds of an OS thread's own stack the first time a fiber is entered from it.
void landed(Context* self) {
#if defined(SIGNET_SIMT_ASAN)
  const void* bottom = nullptr;
  size_t size = 0;
  __sanitizer_finish_switch_fiber(self->asan_fake_stack, &bottom, &size);
  Context* from = tls_switching_from;
  if (from && !from->fn) {
    from->stack = bottom;
    from->stack_bytes = size;
  }
#else
  (void)self;
#endif
}

// First code of every fiber: finish the switch that started it, then run its function.
void fiber_entry(void* context) {
  auto* ctx = static_cast<Context*>(context);
  landed(ctx);
  ctx->fn(ctx->arg);
  std::abort();  // fn must switch away for good instead of returning
}

#if defined(SIGNET_SIMT_X86_64_SWITCH)

// signet_simt_switch(void** save_sp, void* new_sp): pushes the callee-saved registers of the
// System V ABI (rbp, rbx, r12-r15, the SSE and x87 control words), stores rsp, loads the other
// fiber's rsp and pops its registers; `ret` then continues wherever that fiber last called us.
// signet_simt_start is where a new fiber's first `ret` lands: it calls r13(r12). Its CFI marks
// the end of the call stack, so gdb's backtrace in a fiber stops cleanly at the kernel.
asm(R"(
  .text
  .p2align 4
  .type signet_simt_switch, @function
signet_simt_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size signet_simt_switch, .-signet_simt_switch

  .p2align 4
  .type signet_simt_start, @function
signet_simt_start:
  .cfi_startproc
  .cfi_undefined rip
  movq %r12, %rdi
  callq *%r13
  ud2
  .cfi_endproc
  .size signet_simt_start, .-signet_simt_start
)");

extern "C" void signet_simt_switch(void** save_sp, void* new_sp);
extern "C" void signet_simt_start();

// Builds the frame signet_simt_switch pops: control words, r15..r12, rbx, rbp, return address;
// the start code then calls fiber_entry(ctx).
void machine_init(Context* ctx, char* base, size_t bytes) {
  auto top = reinterpret_cast<uintptr_t>(base + bytes) & ~uintptr_t(15);
  // After `ret` pops the start address rsp must be 16-byte aligned, as before a call.
  auto* frame = reinterpret_cast<uint64_t*>(top - 16 - 8 * 8);
  frame[0] = 0x1F80 | (uint64_t(0x037F) << 32);         // default MXCSR and x87 control word
  frame[1] = 0;                                         // r15
  frame[2] = 0;                                         // r14
  frame[3] = reinterpret_cast<uint64_t>(&fiber_entry);  // r13
  frame[4] = reinterpret_cast<uint64_t>(ctx);           // r12
  frame[5] = 0;                                         // rbx
  frame[6] = 0;                                         // rbp
  frame[7] = reinterpret_cast<uint64_t>(&signet_simt_start);
  ctx->sp = frame;
}

#elif defined(SIGNET_SIMT_AARCH64_SWITCH)

// signet_simt_switch(void** save_sp, void* new_sp): stores the callee-saved registers of the
// AAPCS64 (x19-x28, fp, lr, d8-d15) and the FP control register in a 176-byte frame, stores sp,
// loads the other fiber's sp and restores its frame; `ret` jumps to its saved lr, wherever that
// fiber last called us. signet_simt_start is the saved lr of a new fiber: it calls x20(x19). Its
// CFI marks the end of the call stack, so gdb's backtrace in a fiber stops at the kernel.
asm(R"(
  .text
  .p2align 4
  .globl signet_simt_switch
  .hidden signet_simt_switch
  .type signet_simt_switch, %function
signet_simt_switch:
  sub sp, sp, #176
  stp x19, x20, [sp, #0]
  stp x21, x22, [sp, #16]
  stp x23, x24, [sp, #32]
  stp x25, x26, [sp, #48]
  stp x27, x28, [sp, #64]
  stp x29, x30, [sp, #80]
  stp d8, d9, [sp, #96]
  stp d10, d11, [sp, #112]
  stp d12, d13, [sp, #128]
  stp d14, d15, [sp, #144]
  mrs x9, fpcr
  str x9, [sp, #160]
  mov x9, sp
  str x9, [x0]
  mov sp, x1
  ldr x9, [sp, #160]
  msr fpcr, x9
  ldp x19, x20, [sp, #0]
  ldp x21, x22, [sp, #16]
  ldp x23, x24, [sp, #32]
  ldp x25, x26, [sp, #48]
  ldp x27, x28, [sp, #64]
  ldp x29, x30, [sp, #80]
  ldp d8, d9, [sp, #96]
  ldp d10, d11, [sp, #112]
  ldp d12, d13, [sp, #128]
  ldp d14, d15, [sp, #144]
  add sp, sp, #176
  ret
  .size signet_simt_switch, .-signet_simt_switch

  .p2align 4
  .globl signet_simt_start
  .hidden signet_simt_start
  .type signet_simt_start, %function
signet_simt_start:
  .cfi_startproc
  .cfi_undefined x30
  mov x0, x19
  blr x20
  brk #0
  .cfi_endproc
  .size signet_simt_start, .-signet_simt_start
)");

// Global but hidden: a GOT reference to a local symbol would be made against the section, and
// the AArch64 GOT relocations drop the offset, so the start address must come from the symbol.
extern "C" __attribute__((visibility("hidden"))) void signet_simt_switch(void** save_sp,
                                                                         void* new_sp);
extern "C" __attribute__((visibility("hidden"))) void signet_simt_start();

// Builds the frame signet_simt_switch restores: x19 = ctx, x20 = fiber_entry, fp = 0 (the end of
// the frame chain), lr = the start code, FPCR = 0 (round to nearest, no traps); the rest zero.
void machine_init(Context* ctx, char* base, size_t bytes) {
  auto top = reinterpret_cast<uintptr_t>(base + bytes) & ~uintptr_t(15);
  auto* frame = reinterpret_cast<uint64_t*>(top - 176);
  for (int i = 0; i < 22; ++i) frame[i] = 0;
  frame[0] = reinterpret_cast<uint64_t>(ctx);                  // x19
  frame[1] = reinterpret_cast<uint64_t>(&fiber_entry);         // x20
  frame[11] = reinterpret_cast<uint64_t>(&signet_simt_start);  // x30
  ctx->sp = frame;
}

#endif

#if defined(SIGNET_SIMT_ASM_SWITCH)

// One hand-written switch: no signal-mask system call, unlike swapcontext.
void raw_switch(Context* from, Context* to) {
  signet_simt_switch(&from->sp, to->sp);
}

#else

// makecontext passes only int arguments, so the Context pointer travels in two halves.
void ucontext_entry(unsigned lo, unsigned hi) {
  fiber_entry(reinterpret_cast<Context*>((uintptr_t(hi) << 32) | lo));
}

// Portable fallback: getcontext/makecontext on the given stack.
void machine_init(Context* ctx, char* base, size_t bytes) {
  getcontext(&ctx->uc);
  ctx->uc.uc_stack.ss_sp = base;
  ctx->uc.uc_stack.ss_size = bytes;
  ctx->uc.uc_link = nullptr;
  const auto p = reinterpret_cast<uintptr_t>(ctx);
  makecontext(&ctx->uc, reinterpret_cast<void (*)()>(&ucontext_entry), 2, unsigned(p),
              unsigned(p >> 32));
}

// swapcontext saves and restores the signal mask too: correct, but a system call per switch.
void raw_switch(Context* from, Context* to) {
  swapcontext(&from->uc, &to->uc);
}

#endif

}  // namespace

Context::~Context() {
#if defined(SIGNET_SIMT_TSAN)
  if (fn && tsan_fiber) __tsan_destroy_fiber(tsan_fiber);
#endif
}

// Records the stack for the sanitizers, then builds the machine-level start frame.
void context_init(Context* ctx, char* base, size_t bytes, void (*fn)(void*), void* arg) {
  ctx->fn = fn;
  ctx->arg = arg;
  ctx->stack = base;
  ctx->stack_bytes = bytes;
  ctx->asan_fake_stack = nullptr;
#if defined(SIGNET_SIMT_ASAN)
  // An abandoned fiber (a failed block) leaves its frames' redzones poisoned; start clean.
  __asan_unpoison_memory_region(base, bytes);
#endif
#if defined(SIGNET_SIMT_TSAN)
  if (!ctx->tsan_fiber) ctx->tsan_fiber = __tsan_create_fiber(0);
#endif
  machine_init(ctx, base, bytes);
}

// Announces the switch to the sanitizers, switches, and completes it once we are back.
void context_switch(Context* from, Context* to, Switch kind) {
#if defined(SIGNET_SIMT_ASAN)
  tls_switching_from = from;
  __sanitizer_start_switch_fiber(kind == Switch::kFinal ? nullptr : &from->asan_fake_stack,
                                 to->stack, to->stack_bytes);
#endif
#if defined(SIGNET_SIMT_TSAN)
  if (!from->fn && !from->tsan_fiber) from->tsan_fiber = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(to->tsan_fiber,
                         kind == Switch::kNoSync ? __tsan_switch_to_fiber_no_sync : 0);
#endif
  (void)kind;
  raw_switch(from, to);
  landed(from);
}

void sync_release(const void* token) {
#if defined(SIGNET_SIMT_TSAN)
  __tsan_release(const_cast<void*>(token));
#endif
  (void)token;
}

void sync_acquire(const void* token) {
#if defined(SIGNET_SIMT_TSAN)
  __tsan_acquire(const_cast<void*>(token));
#endif
  (void)token;
}

void sanitizer_ignore_begin() {
#if defined(SIGNET_SIMT_TSAN)
  __tsan_ignore_thread_begin();
#endif
}

void sanitizer_ignore_end() {
#if defined(SIGNET_SIMT_TSAN)
  __tsan_ignore_thread_end();
#endif
}

// Unmaps every stack with its guard page.
StackPool::~StackPool() {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  for (char* m : maps_) munmap(m, page + bytes_);
}

// Maps stacks up to i on demand: reserve guard + stack, then make the guard page inaccessible.
char* StackPool::stack(size_t i) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  while (maps_.size() <= i) {
    void* m = mmap(nullptr, page + bytes_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    if (mprotect(m, page, PROT_NONE) != 0) {
      munmap(m, page + bytes_);
      return nullptr;
    }
    maps_.push_back(static_cast<char*>(m));
  }
  return maps_[i] + page;
}

}  // namespace signet::simt
