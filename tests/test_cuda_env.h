// Included once by each tests/test_cuda_*.cpp: a gtest Environment that names the cuda backend
// in use ("[cuda backend: simt]") before the tests run, so a log says which one was tested.
#pragma once
#include <gtest/gtest.h>

#include <cstdio>

#include "engine/cuda_device.h"

namespace signet::testing {

class CudaBackendEnvironment : public ::testing::Environment {
 public:
  // Prints the backend the engine chose (selecting it now); skips every test of a build without
  // one (SIGNET_CUDA=OFF).
  void SetUp() override {
    if (cuda_backends_built().empty()) {
      std::printf("[cuda backend: none (built with SIGNET_CUDA=OFF)]\n");
      GTEST_SKIP() << "no cuda backend in this build";
    }
    std::printf("[cuda backend: %s]\n", cuda_backend_name().c_str());
  }
};

inline ::testing::Environment* const cuda_backend_environment =
    ::testing::AddGlobalTestEnvironment(new CudaBackendEnvironment);

}  // namespace signet::testing
