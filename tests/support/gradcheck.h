// Finite-difference gradient check in float64, shared by every op's tests.
#pragma once
#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include "engine/tensor.h"

namespace signet::testing {

struct GradcheckOptions {
  double eps = 1e-6;   // central-difference step
  double atol = 1e-6;  // absolute tolerance
  double rtol = 1e-5;  // relative tolerance (to the numeric gradient)
  // At most this fraction of elements may be skipped as kinks (see gradcheck).
  double max_kink_fraction = 0.1;
};

// Checks the analytic gradients of fn at inputs (f64 tensors) against central differences.
// The scalar checked is sum(fn(x) * p) with a fixed random p, so every output element carries a
// different upstream gradient. An element whose left and right one-sided differences disagree
// sits on a kink (relu at 0, a tie in max): it is skipped and counted, and the check fails when
// more than max_kink_fraction of the elements are kinks.
::testing::AssertionResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                                     const std::vector<Tensor>& inputs,
                                     const GradcheckOptions& opt = {});

// The same check for the parameters of a module (contiguous f64 leaves requiring grad) that
// fn reads: the numeric side writes into the parameters' storage and calls fn again.
::testing::AssertionResult gradcheck_params(const std::function<Tensor()>& fn,
                                            const std::vector<Tensor>& params,
                                            const GradcheckOptions& opt = {});

// A random f64 tensor with values in [lo, hi) from a fixed test stream.
Tensor random_f64(const Shape& shape, double lo = -1.0, double hi = 1.0, uint64_t seed = 1);

}  // namespace signet::testing
