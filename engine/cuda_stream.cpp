#include "engine/cuda_stream.h"

#include <atomic>
#include <map>

#include "engine/cuda_allocator.h"
#include "engine/cuda_device.h"
#include "engine/error.h"

namespace signet {
namespace {

// Stream ids; 0 is every device's default stream.
std::atomic<uint64_t> next_stream_id{1};

// The calling thread's current streams, by device; a device not here uses its default stream.
std::map<int, CudaStream>& current_streams() {
  thread_local std::map<int, CudaStream> streams;
  return streams;
}

// Hands stream to the backend's launchers when its device is the current one.
void install(const CudaStream& stream) {
  if (stream.device() == cuda_current_device())
    cuda_check(cuda_backend().set_stream(stream.handle()), "cuda set stream");
}

}  // namespace

// A made stream: synchronised, destroyed and forgotten by the allocator with its last handle.
struct CudaStream::Owned {
  Owned(int device, void* handle, uint64_t id) : device(device), handle(handle), id(id) {}
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() {
    const GpuBackend& b = cuda_backend();
    b.stream_synchronize(handle);
    b.stream_destroy(handle);
    CudaAllocator::instance(device).forget_stream(id);
  }
  int device;
  void* handle;
  uint64_t id;
};

// A made event.
struct CudaEvent::Owned {
  explicit Owned(void* handle) : handle(handle) {}
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() { cuda_backend().event_destroy(handle); }
  void* handle;
};

CudaStream CudaStream::create(int device) {
  CudaAllocator::instance(device);  // checks the device and makes it current
  void* handle = nullptr;
  cuda_check(cuda_backend().stream_create(&handle), "cuda stream create");
  return CudaStream(device, std::make_shared<Owned>(device, handle, next_stream_id++));
}

CudaStream CudaStream::default_stream(int device) {
  return CudaStream(device, nullptr);
}

void* CudaStream::handle() const {
  return owned_ ? owned_->handle : nullptr;
}

uint64_t CudaStream::id() const {
  return owned_ ? owned_->id : 0;
}

void CudaStream::synchronize() const {
  cuda_check(cuda_backend().stream_synchronize(handle()), "cuda stream synchronize");
}

CudaStream cuda_current_stream(int device) {
  const auto& streams = current_streams();
  auto it = streams.find(device);
  return it == streams.end() ? CudaStream::default_stream(device) : it->second;
}

CudaStreamGuard::CudaStreamGuard(const CudaStream& stream)
    : previous_(cuda_current_stream(stream.device())) {
  current_streams().insert_or_assign(stream.device(), stream);
  install(stream);
}

CudaStreamGuard::~CudaStreamGuard() {
  current_streams().insert_or_assign(previous_.device(), previous_);
  if (previous_.device() == cuda_current_device()) cuda_backend().set_stream(previous_.handle());
}

void CudaEvent::record(const CudaStream& stream) {
  if (!owned_) {
    void* handle = nullptr;
    cuda_check(cuda_backend().event_create(&handle), "cuda event create");
    owned_ = std::make_shared<Owned>(handle);
  }
  cuda_check(cuda_backend().event_record(owned_->handle, stream.handle()), "cuda event record");
}

void CudaEvent::wait(const CudaStream& stream) const {
  if (owned_)
    cuda_check(cuda_backend().stream_wait_event(stream.handle(), owned_->handle),
               "cuda stream wait event");
}

void CudaEvent::synchronize() const {
  if (owned_)
    cuda_check(cuda_backend().event_synchronize(owned_->handle), "cuda event synchronize");
}

void cuda_apply_current_stream(int device) {
  install(cuda_current_stream(device));
}

}  // namespace signet
