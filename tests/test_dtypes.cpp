// Dtype conversions: bf16 storage rounding, saturating float-to-integer casts, u8 frames.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/tensor.h"

namespace signet {
namespace {

TEST(Dtypes, Bf16RoundsToNearestEven) {
  // 1 + 2^-8 lies halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to the even one (1).
  // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: ties go to 1 + 2^-6.
  Tensor x = from_vector<float>({1.0f + 1.0f / 256, 1.0f + 3.0f / 256, -2.5f, 3.0e38f});
  std::vector<float> back = x.to(DType::bf16).to(DType::f32).to_vector<float>();
  EXPECT_EQ(back[0], 1.0f);
  EXPECT_EQ(back[1], 1.0f + 1.0f / 64);
  EXPECT_EQ(back[2], -2.5f);
  EXPECT_NEAR(back[3], 3.0e38f, 3.0e38f / 128);
  EXPECT_EQ(x.to(DType::bf16).dtype(), DType::bf16);
  EXPECT_EQ(full({2}, 0.5, DType::bf16).to(DType::f64).to_vector<double>(),
            (std::vector<double>{0.5, 0.5}));
}

TEST(Dtypes, FloatToIntegerSaturatesAndNanIsZero) {
  Tensor x = from_vector<double>({-1.7, 2.9, 1e30, -1e30, std::nan("")});
  EXPECT_EQ(x.to(DType::i64).to_vector<int64_t>(),
            (std::vector<int64_t>{-1, 2, std::numeric_limits<int64_t>::max(),
                                  std::numeric_limits<int64_t>::lowest(), 0}));
  EXPECT_EQ(x.to(DType::u8).to_vector<uint8_t>(), (std::vector<uint8_t>{0, 2, 255, 0, 0}));
}

TEST(Dtypes, U8FramesToFloat) {
  Tensor frame = from_vector<uint8_t>({0, 128, 255}, {1, 3});
  EXPECT_EQ(frame.to(DType::f32).to_vector<float>(), (std::vector<float>{0, 128, 255}));
  EXPECT_EQ(frame.t().contiguous().to_vector<uint8_t>(), (std::vector<uint8_t>{0, 128, 255}));
}

TEST(Dtypes, SizesAndNames) {
  EXPECT_EQ(dtype_size(DType::bf16), 2u);
  EXPECT_EQ(dtype_size(DType::i64), 8u);
  EXPECT_STREQ(dtype_name(DType::u8), "u8");
  EXPECT_FALSE(is_floating(DType::i64));
  EXPECT_TRUE(is_floating(DType::bf16));
}

}  // namespace
}  // namespace signet
