// Random cpu inputs and comparisons of cuda results with cpu ones, for the tests of the cuda ops.
#pragma once
#include <string>

#include "engine/tensor.h"

namespace signet::testing {

// Random f32 values in [-scale, scale) of the given shape on the cpu.
Tensor random_cpu(const Shape& shape, unsigned seed, double scale = 1.0);

// Expects got (a cuda tensor) to equal want (a cpu tensor) within tol.
void expect_device_close(const Tensor& got, const Tensor& want, double tol,
                         const std::string& what);

// Expects got (a cuda tensor) to hold exactly want's bits (a cpu tensor).
void expect_device_bitwise(const Tensor& got, const Tensor& want, const std::string& what);

}  // namespace signet::testing
