// `signet info`: what this build is and what it found on this machine.
#include <cstdio>
#include <cstring>
#include <string>

#include "engine/cuda_device.h"
#include "engine/error.h"
#include "engine/runtime_info.h"
#include "tools/cli/commands.h"

namespace signet::cli {
namespace {

// Prints one "name  value" line with the names aligned.
void line(const char* name, const std::string& value) {
  std::printf("%-13s %s\n", name, value.c_str());
}

// The backend the cuda device would use, or why there is none.
std::string cuda_backend_line() {
  std::string built;
  for (const std::string& name : cuda_backends_built()) built += (built.empty() ? "" : " ") + name;
  try {
    return cuda_backend_name() + " (built: " + built + "; SIGNET_CUDA_BACKEND chooses)";
  } catch (const Error& e) {
    return std::string("none (") + e.what() + ")";
  }
}

}  // namespace

// Prints the RuntimeInfo fields one per line.
int run_info(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::printf(
        "usage: signet info\n  version, compiler, SIMD path, threads, CUDA build and devices\n");
    return 0;
  }
  if (argc > 1) {
    std::fprintf(stderr, "signet: 'info' takes no arguments (got '%s')\n", argv[1]);
    return 2;
  }
  const RuntimeInfo info = runtime_info();
  line("version", info.version);
  line("compiler", info.compiler);
  line("build type", info.build_type);
  line("simd", info.simd_path + " (detected " + info.simd_detected + ")");
  line("threads", std::to_string(info.threads));
  line("openmp", info.openmp ? "yes" : "no");
  line("cuda built", info.cuda_built ? "yes (sm_80, sm_90)" : "no");
  if (!info.cuda_built) {
    line("cuda devices", "0 (not built with CUDA)");
  } else if (info.cuda_devices == 0) {
    line("cuda devices",
         "0 (" + (info.cuda_error.empty() ? "no CUDA device found" : info.cuda_error) + ")");
  } else {
    line("cuda devices", std::to_string(info.cuda_devices));
    for (size_t i = 0; i < info.cuda_device_names.size(); ++i)
      line(("  cuda:" + std::to_string(i)).c_str(), info.cuda_device_names[i]);
  }
  line("cuda backend", cuda_backend_line());
  if (info.cuda_memory.empty()) line("cuda memory", "nothing allocated by this process");
  for (const CudaMemoryInfo& m : info.cuda_memory)
    line(("cuda:" + std::to_string(m.device) + " memory").c_str(), describe_cuda_memory(m.stats));
  return 0;
}

}  // namespace signet::cli
