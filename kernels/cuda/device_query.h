// CUDA devices visible to this process; safe to call on a machine with no driver or no GPU.
#pragma once
#include <string>

#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// Number of CUDA devices; 0 with the reason in *error (when given) if there is no driver or GPU.
int device_count(std::string* error);
// Marketing name of device i ("NVIDIA H100 80GB HBM3"); empty if it cannot be queried.
std::string device_name(int i);

}  // namespace signet::cuda
