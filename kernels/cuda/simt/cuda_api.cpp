#include "kernels/cuda/simt/cuda_api.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include "kernels/cuda/simt/block.h"

namespace signet::simt {

// Queued work: a launch, copy, memset or event record, numbered in enqueue order across streams.
struct Op {
  uint64_t seq;
  std::function<cudaError_t()> run;
};

struct StreamState {
  std::deque<Op> ops;
  bool blocking = true;  // synchronises with the legacy default stream
};

struct EventState {
  StreamState* stream = nullptr;  // where it was last recorded
  uint64_t seq = 0;               // the record op's number
  bool done = true;
  std::chrono::steady_clock::time_point when;
};

namespace {

// A cudaMalloc (device: its own pages, inaccessible to the host outside kernels and copies,
// unless SIGNET_SIMT_PROTECT=0) or cudaMallocHost (plain host memory).
struct Allocation {
  size_t bytes;
  size_t mapped;  // bytes mapped with mmap, 0 for host memory
};

// All runtime state, behind one recursive lock: draining a stream may drain another.
struct Runtime {
  std::recursive_mutex mutex;
  StreamState legacy;  // cudaStream_t nullptr
  std::set<StreamState*> streams;
  std::set<EventState*> events;
  std::map<const void*, Allocation> allocations;
  int device_open = 0;  // > 0 while kernels or copies run: device memory is accessible
  uint64_t next_seq = 1;
  std::string detail;
};

Runtime& rt() {
  static Runtime* r = new Runtime;  // never destroyed: worker threads may outlive statics
  return *r;
}

thread_local cudaError_t last_error = cudaSuccess;

// Remembers a failure as the host thread's last error and passes the code on.
cudaError_t record(cudaError_t e) {
  if (e != cudaSuccess) last_error = e;
  return e;
}

// Opens device memory to the host thread for the lifetime of the object (kernels, copies), so
// that outside them a host read of device memory faults as it does with a real GPU.
class DeviceAccess {
 public:
  DeviceAccess() {
    if (rt().device_open++ == 0) set_protection(PROT_READ | PROT_WRITE);
  }
  ~DeviceAccess() {
    if (--rt().device_open == 0) set_protection(PROT_NONE);
  }
  DeviceAccess(const DeviceAccess&) = delete;
  DeviceAccess& operator=(const DeviceAccess&) = delete;

 private:
  static void set_protection(int prot) {
    for (auto& [p, a] : rt().allocations)
      if (a.mapped) mprotect(const_cast<void*>(p), a.mapped, prot);
  }
};

StreamState* resolve(cudaStream_t s) {
  return s ? s : &rt().legacy;
}

bool known(cudaStream_t s) {
  return !s || rt().streams.count(s);
}

// Runs the queued ops of s numbered up to `upto`. Legacy semantics: an op on the default stream
// first waits for earlier ops on all blocking streams, and an op on a blocking stream for
// earlier ops on the default stream. Returns the first error of the ops run.
cudaError_t drain(StreamState* s, uint64_t upto) {
  Runtime& r = rt();
  cudaError_t first = cudaSuccess;
  while (!s->ops.empty() && s->ops.front().seq <= upto) {
    Op op = std::move(s->ops.front());
    s->ops.pop_front();
    cudaError_t e = cudaSuccess;
    if (s == &r.legacy) {
      for (StreamState* o : r.streams)
        if (o->blocking && e == cudaSuccess) e = drain(o, op.seq);
    } else if (s->blocking) {
      e = drain(&r.legacy, op.seq);
    }
    if (e == cudaSuccess) {
      DeviceAccess open;
      e = op.run();
    }
    if (first == cudaSuccess) first = e;
  }
  return first;
}

cudaError_t drain_all() {
  Runtime& r = rt();
  cudaError_t first = drain(&r.legacy, UINT64_MAX);
  for (StreamState* s : r.streams) {
    const cudaError_t e = drain(s, UINT64_MAX);
    if (first == cudaSuccess) first = e;
  }
  return first;
}

void enqueue(cudaStream_t stream, std::function<cudaError_t()> run) {
  Runtime& r = rt();
  resolve(stream)->ops.push_back(Op{r.next_seq++, std::move(run)});
}

// True when [p, p + bytes) lies in one live allocation of cudaMalloc or cudaMallocHost, or
// anywhere outside them (plain host memory); false for a range that runs off an allocation.
bool valid_range(const void* p, size_t bytes) {
  const auto& a = rt().allocations;
  auto it = a.upper_bound(p);
  if (it == a.begin()) return true;
  --it;
  const char* base = static_cast<const char*>(it->first);
  const char* c = static_cast<const char*>(p);
  return c >= base + it->second.bytes || c + bytes <= base + it->second.bytes;
}

// Device memory gets whole pages of its own (mmap) when protection is on; host memory and
// unprotected device memory come from aligned_alloc, 256-byte aligned like cudaMalloc's.
void* allocate(size_t bytes, bool device) {
  Runtime& r = rt();
  if (device && options().protect_device_memory) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    const size_t mapped = (std::max<size_t>(bytes, 1) + page - 1) / page * page;
    const int prot = r.device_open ? PROT_READ | PROT_WRITE : PROT_NONE;
    void* p = mmap(nullptr, mapped, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    r.allocations.emplace(p, Allocation{bytes, mapped});
    return p;
  }
  const size_t rounded = (bytes + 255) / 256 * 256;
  void* p = std::aligned_alloc(256, rounded ? rounded : 256);
  if (p) r.allocations.emplace(p, Allocation{bytes, 0});
  return p;
}

cudaError_t release(void* p) {
  if (!p) return cudaSuccess;
  auto it = rt().allocations.find(p);
  if (it == rt().allocations.end()) return record(cudaErrorInvalidDevicePointer);
  if (it->second.mapped)
    munmap(p, it->second.mapped);
  else
    std::free(p);
  rt().allocations.erase(it);
  return cudaSuccess;
}

}  // namespace

cudaError_t cudaGetLastError() {
  const cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() {
  return last_error;
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer:
      return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection:
      return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInsufficientDriver:
      return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice:
      return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice:
      return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle:
      return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady:
      return "cudaErrorNotReady";
    case cudaErrorLaunchFailure:
      return "cudaErrorLaunchFailure";
    case cudaErrorCooperativeLaunchTooLarge:
      return "cudaErrorCooperativeLaunchTooLarge";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInvalidConfiguration:
      return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer:
      return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection:
      return "invalid copy direction for memcpy";
    case cudaErrorInsufficientDriver:
      return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice:
      return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice:
      return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle:
      return "invalid resource handle";
    case cudaErrorNotReady:
      return "device not ready";
    case cudaErrorLaunchFailure:
      return "unspecified launch failure";
    case cudaErrorCooperativeLaunchTooLarge:
      return "too many blocks in cooperative launch";
  }
  return "unknown error";
}

std::string last_error_detail() {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  return rt().detail;
}

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return record(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (!device) return record(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : record(cudaErrorInvalidDevice);
}

// An sm_80-like device whose multiprocessors are the worker threads.
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (!prop) return record(cudaErrorInvalidValue);
  if (device != 0) return record(cudaErrorInvalidDevice);
  *prop = cudaDeviceProp{};
  const Options o = options();
  std::snprintf(prop->name, sizeof prop->name, "Signet host SIMT (%u workers)", o.workers);
  prop->totalGlobalMem = size_t(16) << 30;
  prop->sharedMemPerBlock = 48 << 10;
  prop->sharedMemPerBlockOptin = 227 << 10;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 0x7fffffff;
  prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
  prop->multiProcessorCount = int(o.workers);
  prop->major = 8;
  prop->minor = 0;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  return record(drain_all());
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (!ptr) return record(cudaErrorInvalidValue);
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  *ptr = allocate(bytes, true);
  return *ptr ? cudaSuccess : record(cudaErrorMemoryAllocation);
}

// Frees after the queued work, which may still use the memory, as cudaFree synchronises.
cudaError_t cudaFree(void* ptr) {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  const cudaError_t e = drain_all();
  const cudaError_t f = release(ptr);
  return record(e != cudaSuccess ? e : f);
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  if (!ptr) return record(cudaErrorInvalidValue);
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  *ptr = allocate(bytes, false);
  return *ptr ? cudaSuccess : record(cudaErrorMemoryAllocation);
}

cudaError_t cudaFreeHost(void* ptr) {
  return cudaFree(ptr);
}

// A blocking copy first finishes all queued work, as a legacy-stream cudaMemcpy does.
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  if (unsigned(kind) > cudaMemcpyDefault) return record(cudaErrorInvalidMemcpyDirection);
  if (!valid_range(dst, bytes) || !valid_range(src, bytes)) return record(cudaErrorInvalidValue);
  const cudaError_t e = drain_all();
  if (e != cudaSuccess) return record(e);
  DeviceAccess open;
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t peek_device_memory(void* dst, const void* src, size_t bytes) {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  if (!valid_range(src, bytes)) return record(cudaErrorInvalidValue);
  DeviceAccess open;
  std::memcpy(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  if (unsigned(kind) > cudaMemcpyDefault) return record(cudaErrorInvalidMemcpyDirection);
  if (!known(stream)) return record(cudaErrorInvalidResourceHandle);
  if (!valid_range(dst, bytes) || !valid_range(src, bytes)) return record(cudaErrorInvalidValue);
  enqueue(stream, [=] {
    if (bytes) std::memmove(dst, src, bytes);
    return cudaSuccess;
  });
  return cudaSuccess;
}

cudaError_t cudaMemset(void* ptr, int value, size_t bytes) {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  if (!valid_range(ptr, bytes)) return record(cudaErrorInvalidValue);
  const cudaError_t e = drain_all();
  if (e != cudaSuccess) return record(e);
  DeviceAccess open;
  std::memset(ptr, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  if (!known(stream)) return record(cudaErrorInvalidResourceHandle);
  if (!valid_range(ptr, bytes)) return record(cudaErrorInvalidValue);
  enqueue(stream, [=] {
    std::memset(ptr, value, bytes);
    return cudaSuccess;
  });
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  if (!stream || flags > cudaStreamNonBlocking) return record(cudaErrorInvalidValue);
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  *stream = new StreamState;
  (*stream)->blocking = flags == cudaStreamDefault;
  rt().streams.insert(*stream);
  return cudaSuccess;
}

// Destroying a stream lets its queued work finish first, as CUDA does.
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  if (!stream || !rt().streams.count(stream)) return record(cudaErrorInvalidResourceHandle);
  const cudaError_t e = drain(stream, UINT64_MAX);
  rt().streams.erase(stream);
  for (EventState* ev : rt().events)
    if (ev->stream == stream) ev->stream = nullptr;
  delete stream;
  return record(e);
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  if (!known(stream)) return record(cudaErrorInvalidResourceHandle);
  return record(drain(resolve(stream), UINT64_MAX));
}

// Queued work would be done by now on a GPU, so a query runs it and reports completion.
cudaError_t cudaStreamQuery(cudaStream_t stream) {
  return cudaStreamSynchronize(stream);
}

// Later work on `stream` waits for the event: an op that drains the event's stream up to it.
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned) {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  if (!known(stream) || !rt().events.count(event)) return record(cudaErrorInvalidResourceHandle);
  StreamState* source = event->stream;
  const uint64_t upto = event->seq;
  if (source) enqueue(stream, [=] { return drain(source, upto); });
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  if (!event) return record(cudaErrorInvalidValue);
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  *event = new EventState;
  rt().events.insert(*event);
  return cudaSuccess;
}

// A pending record still points at the event, so the stream is run up to it first.
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  if (!rt().events.count(event)) return record(cudaErrorInvalidResourceHandle);
  const cudaError_t e =
      event->done || !event->stream ? cudaSuccess : drain(event->stream, event->seq);
  rt().events.erase(event);
  delete event;
  return record(e);
}

// Records the time at which the stream reaches this point.
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  if (!known(stream) || !rt().events.count(event)) return record(cudaErrorInvalidResourceHandle);
  event->stream = resolve(stream);
  event->seq = rt().next_seq;
  event->done = false;
  enqueue(stream, [event] {
    event->when = std::chrono::steady_clock::now();
    event->done = true;
    return cudaSuccess;
  });
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  if (!rt().events.count(event)) return record(cudaErrorInvalidResourceHandle);
  if (event->done || !event->stream) return cudaSuccess;
  return record(drain(event->stream, event->seq));
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  return cudaEventSynchronize(event);
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  if (!ms) return record(cudaErrorInvalidValue);
  if (!rt().events.count(start) || !rt().events.count(end))
    return record(cudaErrorInvalidResourceHandle);
  if (!start->done || !end->done) return record(cudaErrorNotReady);
  *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return cudaSuccess;
}

// Checks the launch as cudaLaunchKernel does, then queues it; a failing block later surfaces as
// cudaErrorLaunchFailure at the synchronising call, its message in last_error_detail(). Returns the
// configuration check's status (also kept for cudaGetLastError).
cudaError_t enqueue_launch(std::shared_ptr<const KernelBody> body, dim3 grid, dim3 block,
                           size_t shmem, cudaStream_t stream, bool cooperative) {
  std::lock_guard<std::recursive_mutex> lock(rt().mutex);
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535 ||
      threads == 0 || threads > 1024 || block.z > 64 || shmem > (227u << 10)) {
    return record(cudaErrorInvalidConfiguration);
  }
  if (cooperative && uint64_t(grid.x) * grid.y * grid.z > kMaxCooperativeBlocks) {
    return record(cudaErrorCooperativeLaunchTooLarge);
  }
  if (!known(stream)) {
    return record(cudaErrorInvalidResourceHandle);
  }
  auto launch = std::make_shared<GridLaunch>(GridLaunch{std::move(body), grid, block, shmem});
  enqueue(stream, [launch, cooperative] {
    std::string error = cooperative ? run_grid_cooperative(*launch) : run_grid(*launch);
    if (error.empty()) return cudaSuccess;
    std::fprintf(stderr, "%s\n", error.c_str());
    rt().detail = std::move(error);
    return cudaErrorLaunchFailure;
  });
  return cudaSuccess;
}

}  // namespace signet::simt
