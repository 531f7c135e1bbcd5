// The engine's cuda device: which backend library runs it (SIGNET_CUDA_BACKEND=nvcc|simt) and
// checked calls into that backend's table (kernels/cuda/backend.h).
#pragma once
#include <string>
#include <vector>

#include "kernels/cuda/backend.h"

namespace signet {

// The backends this build holds, preferred first ("nvcc", "simt"); empty in the embedded build.
std::vector<std::string> cuda_backends_built();
// The backend chosen at first use: SIGNET_CUDA_BACKEND when set (an unknown or unbuilt name is
// an error listing the known ones), else nvcc when built and a device exists, else simt. Throws
// one line when the build has no backend or the chosen one has no device.
const GpuBackend& cuda_backend();
// The backend name the rule of cuda_backend() picks for a SIGNET_CUDA_BACKEND value (null or ""
// when unset); throws as cuda_backend() does.
std::string resolve_cuda_backend(const char* request);
// The chosen backend's name ("nvcc" or "simt"); selects it like cuda_backend().
const std::string& cuda_backend_name();
// Throws signet::Error "<what>: <backend status>" when status is not success.
void cuda_check(int status, const char* what);
// Checks that device names a cuda device the backend has, and makes it (and this thread's current
// stream on it) current.
void cuda_use_device(int index, const char* what);
// The device cuda_use_device last made current on this thread (0 before any).
int cuda_current_device();

}  // namespace signet
