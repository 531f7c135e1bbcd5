// Parameterised simt tests run once per thread order of the emulator (forward, reverse, random
// between barriers): derive the suite from SimtOrderTest and instantiate it with
// SIGNET_SIMT_ORDERS(suite).
#pragma once
#include <gtest/gtest.h>

#include <string>

#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// Sets the thread order of the test's parameter for the test and restores the previous one.
class SimtOrderTest : public ::testing::TestWithParam<Order> {
 protected:
  void SetUp() override {
    previous_ = thread_order();
    set_thread_order(GetParam());
  }
  void TearDown() override { set_thread_order(previous_); }
  Order previous_ = Order::kForward;
};

// The order's name in the test's name.
inline std::string order_name(const ::testing::TestParamInfo<Order>& info) {
  return info.param == Order::kForward   ? "forward"
         : info.param == Order::kReverse ? "reverse"
                                         : "random";
}

}  // namespace signet::cuda

// Instantiates `suite` (a SimtOrderTest) for the three orders.
#define SIGNET_SIMT_ORDERS(suite)                                                         \
  INSTANTIATE_TEST_SUITE_P(                                                               \
      Orders, suite,                                                                      \
      ::testing::Values(::signet::cuda::Order::kForward, ::signet::cuda::Order::kReverse, \
                        ::signet::cuda::Order::kRandom),                                  \
      ::signet::cuda::order_name)
