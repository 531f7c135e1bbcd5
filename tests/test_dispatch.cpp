// The dispatch point: selection order and rules, forcing by environment, clear refusals.
#include <gtest/gtest.h>

#include <cstdlib>

#include "engine/dispatch.h"
#include "engine/ops/elementwise.h"

namespace signet {
namespace {

using Fn = int (*)();
struct Desc {
  int64_t n;
};

int fast() {
  return 1;
}
int slow() {
  return 2;
}
bool large(const Desc& d) {
  return d.n >= 100;
}

// An op with a fast version for large problems and a reference for the rest.
const dispatch::Op<Fn, Desc>& test_op() {
  static const dispatch::Op<Fn, Desc> op{
      "test_op",
      {{"v2_fast", Device::Type::cpu, {{DType::f32, &fast}}, &large},
       {"v1_reference", Device::Type::cpu, {{DType::f32, &slow}, {DType::f64, &slow}}}}};
  return op;
}

TEST(Dispatch, SelectionRuleByShape) {
  EXPECT_EQ(*test_op().select(Device::cpu(), DType::f32, {1000}).impl, "v2_fast");
  EXPECT_EQ(*test_op().select(Device::cpu(), DType::f32, {10}).impl, "v1_reference");
  EXPECT_EQ(test_op().select(Device::cpu(), DType::f64, {1000}).fn(), 2);
}

TEST(Dispatch, ForcedImplementationRuns) {
  setenv("SIGNET_IMPL_test_op", "v1_reference", 1);
  auto s = test_op().select(Device::cpu(), DType::f32, {1000});
  unsetenv("SIGNET_IMPL_test_op");
  EXPECT_EQ(*s.impl, "v1_reference");
  EXPECT_EQ(s.fn(), 2);
}

TEST(Dispatch, ForcingAnUnknownNameListsKnownNames) {
  setenv("SIGNET_IMPL_test_op", "v9_magic", 1);
  try {
    test_op().select(Device::cpu(), DType::f32, {1});
    unsetenv("SIGNET_IMPL_test_op");
    FAIL();
  } catch (const Error& e) {
    unsetenv("SIGNET_IMPL_test_op");
    std::string m = e.what();
    EXPECT_NE(m.find("v9_magic"), std::string::npos) << m;
    EXPECT_NE(m.find("v2_fast"), std::string::npos) << m;
    EXPECT_NE(m.find("v1_reference"), std::string::npos) << m;
  }
}

TEST(Dispatch, ForcedVersionThatCannotRunIsRefusedNotReplaced) {
  setenv("SIGNET_IMPL_test_op", "v2_fast", 1);
  EXPECT_THROW(test_op().select(Device::cpu(), DType::f64, {1000}), Error);
  unsetenv("SIGNET_IMPL_test_op");
}

TEST(Dispatch, NoImplementationForDeviceOrDtype) {
  EXPECT_THROW(test_op().select(Device::cuda(0), DType::f32, {1}), Error);
  EXPECT_THROW(test_op().select(Device::cpu(), DType::i64, {1}), Error);
}

TEST(Dispatch, RealOpsAreRegisteredAndForceable) {
  Tensor a = ones({3});
  setenv("SIGNET_IMPL_add", "nonexistent", 1);
  EXPECT_THROW(add(a, a), Error);
  setenv("SIGNET_IMPL_add", "v1_reference", 1);
  EXPECT_EQ(add(a, a).to_vector<float>(), (std::vector<float>{2, 2, 2}));
  unsetenv("SIGNET_IMPL_add");
  bool found = false;
  for (const auto* op : dispatch::OpBase::all()) found = found || op->name() == "add";
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace signet
