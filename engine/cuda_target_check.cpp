#include "engine/cuda_target_check.h"

#include <mutex>
#include <vector>

#include "engine/cuda_device.h"
#include "engine/cuda_stream.h"
#include "engine/error.h"

namespace signet {
namespace {

// Checks queued before this many are read at the next queueing (which then waits for the device).
constexpr size_t kMaxQueued = 64;

// One queued check: the stream it runs on, the target (kept alive until read), its first-bad
// word and the message.
struct Queued {
  CudaStream stream;
  Tensor target;
  Tensor first_bad;  // one u64 word, all ones when no target was bad
  TargetMessage message;
};

// The queue of unread checks and its lock.
std::mutex& queue_mutex() {
  static std::mutex m;
  return m;
}
std::vector<Queued>& queue() {
  static std::vector<Queued>* q = new std::vector<Queued>();  // leaked: read at exit by no one
  return *q;
}

// The first failure among checks, as its message; empty when every target was in range.
std::string first_failure(const std::vector<Queued>& checks) {
  const GpuBackend& b = cuda_backend();
  for (const Queued& c : checks) {
    c.stream.synchronize();
    uint64_t at = 0;
    cuda_check(b.memcpy_d2h(&at, c.first_bad.raw_data(), sizeof at), "loss target check");
    if (at == UINT64_MAX) continue;
    int64_t value = 0;
    cuda_check(
        b.memcpy_d2h(&value, static_cast<const int64_t*>(c.target.raw_data()) + at, sizeof value),
        "loss target check");
    return c.message(int64_t(at), value) + " (found on " + c.target.device().str() +
           " by the loss's check kernel, reported at the next read from the device)";
  }
  return "";
}

}  // namespace

void cuda_check_class_targets(const kernels::NllDesc& d, const Tensor& target,
                              TargetMessage message) {
  Tensor tg = target.contiguous();
  Tensor word = empty({8}, DType::u8, target.device());
  const GpuBackend& b = cuda_backend();
  cuda_check(b.memset(word.raw_data(), 0xff, 8), "loss target check");
  cuda_check(b.class_target_check(d, static_cast<const int64_t*>(tg.raw_data()),
                                  static_cast<uint64_t*>(word.raw_data())),
             "cuda class target check kernel");
  std::vector<Queued> full;
  {
    std::lock_guard<std::mutex> lock(queue_mutex());
    queue().push_back({cuda_current_stream(target.device().index), tg, word, std::move(message)});
    if (queue().size() >= kMaxQueued) full.swap(queue());
  }
  const std::string failure = first_failure(full);
  SIGNET_CHECK(failure.empty(), failure);
}

void cuda_report_class_target_errors() {
  std::vector<Queued> checks;
  {
    std::lock_guard<std::mutex> lock(queue_mutex());
    if (queue().empty()) return;
    checks.swap(queue());
  }
  const std::string failure = first_failure(checks);
  SIGNET_CHECK(failure.empty(), failure);
}

}  // namespace signet
