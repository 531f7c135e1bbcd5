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

// One queued check: the stream it runs on, the checked tensor (kept alive until read), its
// first-bad word and the message for a bad position.
struct Queued {
  CudaStream stream;
  Tensor checked;
  Tensor first_bad;  // one u64 word, all ones when nothing was bad
  std::function<std::string(uint64_t at)> describe;
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

// Element at of contiguous device tensor t, copied to the host.
template <class T>
T read_at(const Tensor& t, uint64_t at) {
  T value{};
  cuda_check(
      cuda_backend().memcpy_d2h(&value, static_cast<const T*>(t.raw_data()) + at, sizeof value),
      "loss argument check");
  return value;
}

// The first failure among checks, as its message; empty when every checked value was good.
std::string first_failure(const std::vector<Queued>& checks) {
  for (const Queued& c : checks) {
    c.stream.synchronize();
    uint64_t at = 0;
    cuda_check(cuda_backend().memcpy_d2h(&at, c.first_bad.raw_data(), sizeof at),
               "loss argument check");
    if (at == UINT64_MAX) continue;
    return c.describe(at) + " (found on " + c.checked.device().str() +
           " by the loss's check kernel, reported at the next read from the device)";
  }
  return "";
}

// A first-bad word (all ones) on device.
Tensor fresh_word(Device device) {
  Tensor word = empty({8}, DType::u8, device);
  cuda_check(cuda_backend().memset(word.raw_data(), 0xff, 8), "loss argument check");
  return word;
}

// Queues a launched check of `checked` whose word is `word`; when the queue is full, reads it all
// (waiting for the device) and throws the first failure.
void enqueue(const Tensor& checked, const Tensor& word,
             std::function<std::string(uint64_t at)> describe) {
  std::vector<Queued> full;
  {
    std::lock_guard<std::mutex> lock(queue_mutex());
    queue().push_back(
        {cuda_current_stream(checked.device().index), checked, word, std::move(describe)});
    if (queue().size() >= kMaxQueued) full.swap(queue());
  }
  const std::string failure = first_failure(full);
  SIGNET_CHECK(failure.empty(), failure);
}

}  // namespace

void cuda_check_class_targets(const kernels::NllDesc& d, const Tensor& target,
                              TargetMessage message) {
  Tensor tg = target.contiguous();
  Tensor word = fresh_word(target.device());
  cuda_check(cuda_backend().class_target_check(d, static_cast<const int64_t*>(tg.raw_data()),
                                               static_cast<uint64_t*>(word.raw_data())),
             "cuda class target check kernel");
  enqueue(tg, word, [tg, message = std::move(message)](uint64_t at) {
    return message(int64_t(at), read_at<int64_t>(tg, at));
  });
}

Tensor cuda_length_padding(const Tensor& lengths, int64_t steps, TargetMessage message) {
  Tensor len = lengths.contiguous();
  const int64_t n = len.numel();
  Tensor keep = empty({n, steps}, DType::f32, len.device());
  Tensor word = fresh_word(len.device());
  cuda_check(cuda_backend().length_padding_f32(
                 n, steps, static_cast<const int64_t*>(len.raw_data()),
                 static_cast<float*>(keep.raw_data()), static_cast<uint64_t*>(word.raw_data())),
             "cuda length padding kernel");
  enqueue(len, word, [len, message = std::move(message)](uint64_t at) {
    return message(int64_t(at), read_at<int64_t>(len, at));
  });
  return keep;
}

Tensor cuda_mask_padding(const Tensor& mask, MaskMessage message) {
  SIGNET_CHECK(mask.dtype() == DType::u8 || mask.dtype() == DType::f32,
               "cuda mask check: a device mask must be u8 or f32, got ", dtype_name(mask.dtype()));
  Tensor m = mask.contiguous();
  const bool u8 = m.dtype() == DType::u8;
  Tensor keep = empty(m.shape(), DType::f32, m.device());
  Tensor word = fresh_word(m.device());
  cuda_check(cuda_backend().mask_padding_f32(
                 m.numel(), u8 ? static_cast<const uint8_t*>(m.raw_data()) : nullptr,
                 u8 ? nullptr : static_cast<const float*>(m.raw_data()),
                 static_cast<float*>(keep.raw_data()), static_cast<uint64_t*>(word.raw_data())),
             "cuda mask padding kernel");
  enqueue(m, word, [m, u8, message = std::move(message)](uint64_t at) {
    const double value = u8 ? double(read_at<uint8_t>(m, at)) : double(read_at<float>(m, at));
    return message(int64_t(at), value);
  });
  return keep;
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
