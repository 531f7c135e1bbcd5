// Backend selection for the cuda device: each backend library linked into the engine is one
// (name, table) entry; SIGNET_WITH_CUDA and SIGNET_WITH_SIMT say which are linked.
#include "engine/cuda_device.h"

#include <cstdlib>

#include "engine/cuda_stream.h"
#include "engine/error.h"

namespace signet {
namespace {

struct Entry {
  std::string name;
  const GpuBackend* table;
};

// The linked backends, nvcc first.
std::vector<Entry> linked() {
  std::vector<Entry> out;
#if defined(SIGNET_WITH_CUDA)
  out.push_back({"nvcc", &signet::cuda::backend()});
#endif
#if defined(SIGNET_WITH_SIMT)
  out.push_back({"simt", &signet::simt_cuda::backend()});
#endif
  return out;
}

// "nvcc, simt" for messages.
std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// The entry named by resolve_cuda_backend(request).
Entry choose(const char* request) {
  const std::string name = resolve_cuda_backend(request);
  for (const Entry& e : linked())
    if (e.name == name) return e;
  SIGNET_FAIL("cuda: backend ", name, " vanished");
}

// The chosen entry, chosen once.
const Entry& chosen() {
  static const Entry entry = choose(std::getenv("SIGNET_CUDA_BACKEND"));
  return entry;
}

}  // namespace

std::vector<std::string> cuda_backends_built() {
  std::vector<std::string> names;
  for (const Entry& e : linked()) names.push_back(e.name);
  return names;
}

std::string resolve_cuda_backend(const char* request) {
  const std::vector<Entry> all = linked();
  SIGNET_CHECK(!all.empty(),
               "cuda: this build has no CUDA backend (built with SIGNET_CUDA=OFF); use the cpu "
               "device");
  if (request != nullptr && *request != '\0') {
    for (const Entry& e : all)
      if (e.name == request) return e.name;
    SIGNET_FAIL("SIGNET_CUDA_BACKEND=", request,
                ": unknown or not built (known: ", join(cuda_backends_built()), ")");
  }
  for (const Entry& e : all) {
    std::string error;
    if (e.table->device_count(&error) > 0) return e.name;
  }
  return all.back().name;
}

const GpuBackend& cuda_backend() {
  return *chosen().table;
}

const std::string& cuda_backend_name() {
  return chosen().name;
}

void cuda_check(int status, const char* what) {
  SIGNET_CHECK(status == 0, what, ": ", cuda_backend().describe(status), " (cuda backend ",
               cuda_backend_name(), ")");
}

// The device made current last on this thread.
thread_local int current_device = 0;

void cuda_use_device(int index, const char* what) {
  const GpuBackend& b = cuda_backend();
  std::string error;
  const int count = b.device_count(&error);
  SIGNET_CHECK(count > 0, what, ": no CUDA device (", error.empty() ? "none found" : error,
               "; cuda backend ", cuda_backend_name(), ")");
  SIGNET_CHECK(index >= 0 && index < count, what, ": device cuda:", index, " does not exist (",
               count, " device", count == 1 ? "" : "s", ", backend ", cuda_backend_name(), ")");
  cuda_check(b.set_device(index), what);
  current_device = index;
  cuda_apply_current_stream(index);
}

int cuda_current_device() {
  return current_device;
}

}  // namespace signet
