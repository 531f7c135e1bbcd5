// Augmentation transforms (engine/data/augment.h): each deterministic function against a hand
// computation on a tiny tensor, each random transform drawing only from its stream, and the
// loader giving bit-identical augmented batches with 1 and 4 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "engine/data/augment.h"
#include "engine/data/loader.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"

namespace {

using namespace signet::data;
using signet::DType;
using signet::RngStream;
using signet::Shape;
using signet::Tensor;
using signet::testing::expect_error;

// A tensor of the shape with element i = f(i).
template <class F>
Tensor filled(const Shape& shape, F f) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = float(f(i));
  return signet::from_vector(v, shape);
}

// Values in [0, 1) from the test's own generator.
Tensor random_unit(const Shape& shape, unsigned seed) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v = signet::testing::uniform_floats(size_t(n), seed);
  for (float& x : v) x = 0.5f * (x + 1.0f);
  return signet::from_vector(v, shape);
}

std::vector<float> values(const Tensor& t) {
  return t.contiguous().to_vector<float>();
}

TEST(Augment, FlipReversesWidthExactly) {
  const Tensor clip = random_unit({2, 3, 4, 5}, 1);
  const Tensor out = flip_horizontal(clip);
  ASSERT_EQ(out.shape(), clip.shape());
  const std::vector<float> in = values(clip), got = values(out);
  for (int64_t r = 0; r < 2 * 3 * 4; ++r)
    for (int64_t x = 0; x < 5; ++x) EXPECT_EQ(got[size_t(r * 5 + x)], in[size_t(r * 5 + 4 - x)]);
  EXPECT_EQ(values(flip_horizontal(out)), in);
}

TEST(Augment, IdentityAffineIsExact) {
  const Tensor image = random_unit({3, 5, 7}, 2);
  for (AffineFill fill : {AffineFill::zero, AffineFill::edge})
    EXPECT_EQ(values(affine_warp(image, AffineParams{}, fill)), values(image));
}

TEST(Augment, TranslationByOnePixelShiftsByOne) {
  const Tensor image = filled({1, 3, 4}, [](int64_t i) { return i + 1; });  // row y: 4y+1 ..
  AffineParams right;
  right.dx = 1.0;
  EXPECT_EQ(values(affine_warp(image, right, AffineFill::zero)),
            (std::vector<float>{0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11}));
  EXPECT_EQ(values(affine_warp(image, right, AffineFill::edge)),
            (std::vector<float>{1, 1, 2, 3, 5, 5, 6, 7, 9, 9, 10, 11}));
  AffineParams up;
  up.dy = -1.0;
  EXPECT_EQ(values(affine_warp(image, up, AffineFill::zero)),
            (std::vector<float>{5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0}));
}

TEST(Augment, RotationAndZoomMatchHandComputation) {
  // a b c / d e f / g h i rotated 90 degrees counter-clockwise: c f i / b e h / a d g.
  const Tensor image = filled({1, 3, 3}, [](int64_t i) { return i + 1; });
  AffineParams turn;
  turn.degrees = 90.0;
  const std::vector<float> want = {3, 6, 9, 2, 5, 8, 1, 4, 7};
  const std::vector<float> got = values(affine_warp(image, turn, AffineFill::zero));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;
  // Zoom 2 about the centre (1, 1): output (0, 0) reads (0.5, 0.5) = (1 + 2 + 4 + 5) / 4.
  AffineParams zoom;
  zoom.zoom = 2.0;
  const std::vector<float> z = values(affine_warp(image, zoom, AffineFill::zero));
  EXPECT_FLOAT_EQ(z[0], 3.0f);
  EXPECT_FLOAT_EQ(z[1], 3.5f);  // (0.5, 1) = (2 + 5) / 2
  EXPECT_FLOAT_EQ(z[4], 5.0f);
  EXPECT_FLOAT_EQ(z[8], 7.0f);  // (1.5, 1.5) = (5 + 6 + 8 + 9) / 4
}

TEST(Augment, CropResizeMatchesHandComputation) {
  const Tensor image = random_unit({2, 4, 6}, 3);
  EXPECT_EQ(values(crop_resize(image, 0, 0, 4, 6)), values(image));
  // On v = 10 y + x bilinear sampling is exact: a 2 x 3 window at (1, 2) resized to 4 x 6
  // reads rows 1 + {0, 0.25, 0.75, 1} and columns 2 + {0, 0.25, 0.75, 1.25, 1.75, 2}.
  const Tensor ramp = filled({1, 4, 6}, [](int64_t i) { return 10 * (i / 6) + i % 6; });
  const std::vector<float> got = values(crop_resize(ramp, 1, 2, 2, 3));
  const double sy[4] = {0, 0.25, 0.75, 1}, sx[6] = {0, 0.25, 0.75, 1.25, 1.75, 2};
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 6; ++x)
      EXPECT_NEAR(got[size_t(y * 6 + x)], 10 * (1 + sy[y]) + 2 + sx[x], 1e-5) << y << "," << x;
  expect_error([&] { crop_resize(image, 1, 0, 4, 6); }, {"crop_resize", "not inside", "[2, 4, 6]"});
}

TEST(Augment, BrightnessContrastMatchHandComputation) {
  const Tensor image = signet::from_vector(std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f}, {1, 1, 4});
  // x2 -> 0.2 0.4 0.6 0.8 (mean 0.5); contrast 0.5 -> 0.35 0.45 0.55 0.65.
  const std::vector<float> got = values(adjust_brightness_contrast(image, 2.0, 0.5));
  const std::vector<float> want = {0.35f, 0.45f, 0.55f, 0.65f};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(got[i], want[i], 1e-6);
  // x3 -> 0.3 0.6 0.9 1.2 (mean 0.75); contrast 2 -> -0.15 0.45 1.05 1.65, clamped.
  const std::vector<float> clamped = values(adjust_brightness_contrast(image, 3.0, 2.0));
  const std::vector<float> want2 = {0.0f, 0.45f, 1.0f, 1.0f};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(clamped[i], want2[i], 1e-6);
  // Each frame of a clip uses its own mean.
  const Tensor clip = signet::from_vector(std::vector<float>{0.2f, 0.4f, 0.6f, 0.8f}, {2, 1, 1, 2});
  const std::vector<float> per_frame = values(adjust_brightness_contrast(clip, 1.0, 0.0));
  const std::vector<float> want3 = {0.3f, 0.3f, 0.7f, 0.7f};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(per_frame[i], want3[i], 1e-6);
}

TEST(Augment, NormalisationIsPerChannel) {
  const Tensor clip = filled({2, 2, 1, 2}, [](int64_t i) { return i; });  // frames 0..3, 4..7
  const std::vector<float> got = values(normalize(clip, {1.0f, 2.0f}, {0.5f, 4.0f}));
  const std::vector<float> want = {-2, 0, 0, 0.25f, 6, 8, 1, 1.25f};
  EXPECT_EQ(got, want);
  EXPECT_EQ(values(normalize(clip, {1.0f}, {2.0f})),
            (std::vector<float>{-0.5f, 0, 0.5f, 1, 1.5f, 2, 2.5f, 3}));
  expect_error(
      [&] {
        normalize(clip, {0.f, 0.f, 0.f}, {1.f});
      },
      {"normalize", "3 means", "2 channels"});
  expect_error([&] { normalize(clip, {0.f}, {0.f}); }, {"std of 0"});
}

TEST(Augment, TemporalIndicesResampleTheSegment) {
  EXPECT_EQ(temporal_indices(2, 6, 3), (std::vector<int64_t>{2, 4, 6}));
  EXPECT_EQ(temporal_indices(0, 2, 4), (std::vector<int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(temporal_indices(5, 4, 4), (std::vector<int64_t>{5, 6, 7, 8}));
  const Tensor clip = filled({5, 1, 1, 2}, [](int64_t i) { return i / 2; });  // frame t = t
  EXPECT_EQ(values(take_time(clip, {4, 0, 0})), (std::vector<float>{4, 4, 0, 0, 0, 0}));
  expect_error([&] { take_time(clip, {5}); }, {"take_time", "index 5", "5 frames"});
}

TEST(Augment, TemporalJitterTakesContiguousSegmentsAtTheDrawnSpeed) {
  const Tensor clip = filled({12, 1, 1, 1}, [](int64_t i) { return i; });
  std::vector<float> starts;
  for (uint64_t s = 0; s < 40; ++s) {
    RngStream rng = signet::augment_stream(7, 0, s);
    const std::vector<float> plain = values(TemporalJitter(4, 1.0, 1.0).apply(clip, rng));
    ASSERT_EQ(plain.size(), 4u);
    for (size_t k = 1; k < 4; ++k) EXPECT_EQ(plain[k], plain[0] + float(k));
    EXPECT_LE(plain[3], 11.0f);
    starts.push_back(plain[0]);
    const std::vector<float> fast = values(TemporalJitter(4, 2.0, 2.0).apply(clip, rng));
    for (size_t k = 1; k < 4; ++k) EXPECT_EQ(fast[k], fast[0] + 2.0f * float(k));
    const std::vector<float> slow = values(TemporalJitter(6, 0.5, 0.5).apply(clip, rng));
    EXPECT_EQ(slow[1], slow[0]);  // 3 frames stretched over 6
    EXPECT_EQ(slow[2], slow[0] + 1.0f);
  }
  std::sort(starts.begin(), starts.end());
  EXPECT_EQ(starts.front(), 0.0f);
  EXPECT_EQ(starts.back(), 8.0f);
}

TEST(Augment, NeutralRandomTransformsAreIdentities) {
  const Tensor clip = random_unit({3, 3, 5, 7}, 4);
  RngStream rng = signet::augment_stream(1, 2, 3);
  EXPECT_EQ(values(RandomCropResize(1.0).apply(clip, rng)), values(clip));
  EXPECT_EQ(values(RandomAffine(0.0, 0.0, 0.0).apply(clip, rng)), values(clip));
  EXPECT_EQ(values(RandomHorizontalFlip(0.0).apply(clip, rng)), values(clip));
  EXPECT_EQ(values(RandomHorizontalFlip(1.0).apply(clip, rng)), values(flip_horizontal(clip)));
  const std::vector<float> jitter = values(ColorJitter(0.0, 0.0).apply(clip, rng));
  const std::vector<float> in = values(clip);
  for (size_t i = 0; i < in.size(); ++i) EXPECT_NEAR(jitter[i], in[i], 1e-7);
}

// Every transform on, as a training run would set it up (flip included to cover it).
std::shared_ptr<const Transform> everything() {
  return std::make_shared<Compose>(std::vector<std::shared_ptr<const Transform>>{
      std::make_shared<TemporalJitter>(4), std::make_shared<RandomCropResize>(0.7),
      std::make_shared<RandomHorizontalFlip>(), std::make_shared<RandomAffine>(15.0, 0.1, 0.1),
      std::make_shared<ColorJitter>(0.3, 0.3),
      std::make_shared<Normalize>(std::vector<float>{0.5f, 0.4f, 0.3f},
                                  std::vector<float>{0.2f, 0.25f, 0.3f})});
}

TEST(Augment, ChoicesComeOnlyFromTheStream) {
  const Tensor clip = random_unit({6, 3, 9, 11}, 5);
  const auto t = everything();
  RngStream a = signet::augment_stream(3, 1, 4), b = signet::augment_stream(3, 1, 4);
  const Tensor x = t->apply(clip, a);
  EXPECT_EQ(x.shape(), (Shape{4, 3, 9, 11}));
  EXPECT_EQ(values(x), values(t->apply(clip, b)));
  EXPECT_EQ(a.offset, b.offset);
  RngStream other_sample = signet::augment_stream(3, 1, 5);
  RngStream other_epoch = signet::augment_stream(3, 2, 4);
  EXPECT_NE(values(t->apply(clip, other_sample)), values(x));
  EXPECT_NE(values(t->apply(clip, other_epoch)), values(x));
}

TEST(Augment, BadInputsAreErrorsNamingTheTransform) {
  RngStream rng = signet::augment_stream(0, 0, 0);
  const Tensor image = random_unit({3, 4, 4}, 6);
  expect_error([&] { TemporalJitter(2).apply(image, rng); }, {"TemporalJitter", "[3, 4, 4]"});
  expect_error([&] { flip_horizontal(image.to(DType::f64)); }, {"flip_horizontal", "f64"});
  expect_error(
      [&] {
        RandomAffine().apply(random_unit({4, 4}, 7), rng);
      },
      {"RandomAffine", "[4, 4]"});
  expect_error([] { RandomCropResize(0.0); }, {"RandomCropResize", "min_side 0"});
  expect_error([] { TemporalJitter(4, 1.5, 1.0); }, {"TemporalJitter", "min_speed <= max_speed"});
  AffineParams flat;
  flat.zoom = 0.0;
  expect_error([&] { affine_warp(image, flat, AffineFill::zero); }, {"affine_warp", "zoom 0"});
}

// Clip i: (6, 3, 9, 11) values in [0, 1) from seed i, label i % 3.
class ClipSet : public Dataset {
 public:
  int64_t size() const override { return 10; }
  Sample get(int64_t i) const override { return {random_unit({6, 3, 9, 11}, unsigned(i)), i % 3}; }
};

// All batches of two epochs, with `threads` loader threads.
std::vector<std::vector<float>> two_epochs(int threads) {
  LoaderOptions o;
  o.batch_size = 3;
  o.seed = 11;
  o.threads = threads;
  Loader loader(std::make_shared<ClipSet>(), o, everything());
  std::vector<std::vector<float>> out;
  for (uint64_t e = 0; e < 2; ++e) {
    loader.start_epoch(e);
    Batch b;
    while (loader.next(b)) {
      EXPECT_EQ(b.inputs.size(1), 4);
      out.push_back(values(b.inputs));
    }
  }
  return out;
}

TEST(Augment, LoaderGivesBitIdenticalBatchesWithOneAndFourThreads) {
  const std::vector<std::vector<float>> one = two_epochs(1), four = two_epochs(4);
  ASSERT_EQ(one.size(), 8u);
  ASSERT_EQ(four.size(), one.size());
  for (size_t b = 0; b < one.size(); ++b)
    EXPECT_EQ(std::memcmp(one[b].data(), four[b].data(), one[b].size() * sizeof(float)), 0) << b;
  EXPECT_EQ(two_epochs(0), one);
  EXPECT_NE(one[0], one[4]);  // epoch 1 augments differently
}

TEST(Augment, NamedAugmentationBuildsTheListedTransforms) {
  EXPECT_EQ(make_augmentation("", 4), nullptr);
  EXPECT_EQ(make_augmentation("none", 4), nullptr);
  const Tensor clip = random_unit({6, 3, 9, 11}, 8);
  // "flip" alone with the default p = 0.5 flips for some samples and not for others.
  const auto flip = make_augmentation("flip", 4);
  int flipped = 0;
  for (uint64_t s = 0; s < 16; ++s) {
    RngStream rng = signet::augment_stream(0, 0, s);
    const std::vector<float> got = values(flip->apply(clip, rng));
    EXPECT_TRUE(got == values(clip) || got == values(flip_horizontal(clip)));
    flipped += got != values(clip);
  }
  EXPECT_GT(flipped, 0);
  EXPECT_LT(flipped, 16);
  // The list's order does not matter; the same names give the same result.
  RngStream a = signet::augment_stream(1, 0, 0), b = signet::augment_stream(1, 0, 0);
  const Tensor x = make_augmentation("time,crop,rotate,color", 4)->apply(clip, a);
  EXPECT_EQ(x.shape(), (Shape{4, 3, 9, 11}));
  EXPECT_EQ(values(make_augmentation("color,affine,crop,time", 4)->apply(clip, b)), values(x));
  expect_error([] { make_augmentation("crop,blur", 4); },
               {"unknown name 'blur'", "known: time, crop"});
  // Spaces around names are ignored: "crop, time" is the list above.
  RngStream c = signet::augment_stream(1, 0, 0);
  EXPECT_EQ(values(make_augmentation(" color , affine,crop,  time", 4)->apply(clip, c)), values(x));
  EXPECT_EQ(augmentation_names(" crop, affine ,none,,time"),
            (std::vector<std::string>{"crop", "rotate", "time"}));
}

}  // namespace
