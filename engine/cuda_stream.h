// Streams and events of the cuda device.
//
// Each host thread has a current stream per device: the default stream until a CudaStreamGuard
// selects another. Every kernel launch and device copy the engine makes goes to the current
// stream of the current device (the backend table's set_stream hands it to the launchers). Streams
// made here are blocking, so their work is ordered with the default stream's as CUDA's legacy
// default stream orders it; only work on two made streams runs unordered, and a CudaEvent orders
// it (record on one stream, wait on the other). The host synchronises only where it reads: a copy
// to the host (Tensor::to(cpu), item()) waits for the current stream. The caching allocator reuses
// a block only on the stream it was allocated on, so a tensor used on another stream than its
// allocation stream must outlive that work (synchronize, or keep a reference).
#pragma once
#include <cstdint>
#include <memory>

namespace signet {

// A shared handle to a stream of one cuda device (the default stream, or one made by create).
class CudaStream {
 public:
  // A new blocking stream on cuda:device; destroyed (after its work is done) with its last handle.
  static CudaStream create(int device);
  // The default stream of cuda:device.
  static CudaStream default_stream(int device);
  // The device index.
  int device() const { return device_; }
  // The backend's stream handle (nullptr for the default stream).
  void* handle() const;
  // 0 for the default stream, else a number no other stream of this process had.
  uint64_t id() const;
  // Blocks the host until the work queued on this stream so far is done.
  void synchronize() const;
  // True when both name the same stream.
  bool operator==(const CudaStream& o) const { return device_ == o.device_ && id() == o.id(); }
  bool operator!=(const CudaStream& o) const { return !(*this == o); }

 private:
  struct Owned;
  CudaStream(int device, std::shared_ptr<Owned> owned)
      : device_(device), owned_(std::move(owned)) {}

  int device_ = 0;
  std::shared_ptr<Owned> owned_;  // null for the default stream
};

// The calling thread's current stream on cuda:device.
CudaStream cuda_current_stream(int device);

// Makes a stream current on its device for the calling thread; the previous one comes back when
// the guard ends.
class CudaStreamGuard {
 public:
  explicit CudaStreamGuard(const CudaStream& stream);
  ~CudaStreamGuard();
  CudaStreamGuard(const CudaStreamGuard&) = delete;
  CudaStreamGuard& operator=(const CudaStreamGuard&) = delete;

 private:
  CudaStream previous_;
};

// A point in a stream's work: recorded on one stream, waited for by another stream or the host.
class CudaEvent {
 public:
  // Records the work queued on stream so far (a later record replaces it).
  void record(const CudaStream& stream);
  // Makes the work queued on stream after this call wait for the recorded work.
  void wait(const CudaStream& stream) const;
  // Blocks the host until the recorded work is done.
  void synchronize() const;

 private:
  struct Owned;
  std::shared_ptr<Owned> owned_;  // made by the first record
};

// Installs the calling thread's current stream of cuda:device in the backend (called when the
// device becomes current).
void cuda_apply_current_stream(int device);

}  // namespace signet
