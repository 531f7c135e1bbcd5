// The synthetic gesture set (tools/media/gesture_synth.h): deterministic for a seed, splits
// differ, labels balanced, shapes independent of class, and each class's motion moves the
// drawn hand the way its name says, measured on the raw frames before encoding.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "support/expect_error.h"
#include "tools/media/gesture_synth.h"
#include "tools/media/video_reader.h"
#include "tools/media/video_writer.h"

namespace {

namespace fs = std::filesystem;
using namespace signet::media;
using signet::testing::expect_error;

// Small clips so that the tests stay fast.
SynthOptions small_options() {
  SynthOptions o;
  o.frames = 8;
  o.size = 32;
  return o;
}

// Where the hand is in one frame: centroid and area of the pixels of the hand's colours.
struct HandStats {
  double x = 0.0, y = 0.0, area = 0.0;
};

// Per frame, the pixels within 40 levels (Euclidean RGB) of the palm or finger colour.
std::vector<HandStats> hand_track(const GestureClip& clip, const SynthOptions& o) {
  std::vector<HandStats> track;
  for (int t = 0; t < o.frames; ++t) {
    HandStats s;
    const uint8_t* f = clip.frames.data() + size_t(t) * o.size * o.size * 3;
    for (int y = 0; y < o.size; ++y) {
      for (int x = 0; x < o.size; ++x) {
        const uint8_t* p = f + (size_t(y) * o.size + x) * 3;
        double palm = 0.0, finger = 0.0;
        for (int c = 0; c < 3; ++c) {
          palm += std::pow(p[c] - clip.hand_rgb[c], 2.0);
          finger += std::pow(p[c] - 0.92 * clip.hand_rgb[c], 2.0);
        }
        if (std::min(palm, finger) < 40.0 * 40.0) {
          s.x += x;
          s.y += y;
          s.area += 1.0;
        }
      }
    }
    EXPECT_GT(s.area, 0.0) << "no hand pixels in frame " << t;
    s.x /= std::max(s.area, 1.0);
    s.y /= std::max(s.area, 1.0);
    track.push_back(s);
  }
  return track;
}

// Twice the signed area swept by the centroid path (closed): > 0 clockwise on screen (y down).
double swept_area(const std::vector<HandStats>& track) {
  double a = 0.0;
  for (size_t i = 0; i < track.size(); ++i) {
    const HandStats &p = track[i], &q = track[(i + 1) % track.size()];
    a += p.x * q.y - q.x * p.y;
  }
  return a;
}

// How often the centroid's x movement changes direction (steps under half a pixel ignored).
int x_turns(const std::vector<HandStats>& track) {
  int turns = 0, last = 0;
  for (size_t i = 1; i < track.size(); ++i) {
    const double dx = track[i].x - track[i - 1].x;
    if (std::abs(dx) < 0.5) continue;
    const int sign = dx > 0 ? 1 : -1;
    if (last != 0 && sign != last) ++turns;
    last = sign;
  }
  return turns;
}

TEST(GestureSynth, SameSeedSameClipOtherSeedOrIndexDifferent) {
  const SynthOptions o = small_options();
  const GestureClip a = generate_gesture_clip(o, 7, 3), b = generate_gesture_clip(o, 7, 3);
  EXPECT_EQ(a.frames, b.frames);
  EXPECT_EQ(a.label, b.label);
  EXPECT_EQ(a.shape, b.shape);
  ASSERT_EQ(a.frames.size(), size_t(8) * 32 * 32 * 3);
  EXPECT_NE(a.frames, generate_gesture_clip(o, 8, 3).frames);
  EXPECT_NE(a.frames, generate_gesture_clip(o, 7, 13).frames);
  EXPECT_EQ(generate_gesture_clip(o, 7, 13).label, a.label);
}

TEST(GestureSynth, SplitSeedsDifferAndGiveDifferentClips) {
  std::set<uint64_t> seeds;
  for (uint64_t s = 0; s < 4; ++s)
    for (int split = 0; split < 3; ++split) seeds.insert(gesture_split_seed(s, split));
  EXPECT_EQ(seeds.size(), 12u);
  EXPECT_LT(gesture_split_seed(0, 0), uint64_t(1) << 63);
  const SynthOptions o = small_options();
  EXPECT_NE(generate_gesture_clip(o, gesture_split_seed(0, 0), 0).frames,
            generate_gesture_clip(o, gesture_split_seed(0, 1), 0).frames);
  expect_error([] { gesture_split_seed(0, 3); }, {"split 3"});
}

TEST(GestureSynth, LabelsBalancedAndShapesIndependentOfClass) {
  SynthOptions o = small_options();
  o.frames = 2;
  o.size = 16;
  std::vector<int> per_class(10, 0);
  std::vector<std::set<int>> shapes(10);
  for (int64_t i = 0; i < 200; ++i) {
    const GestureClip clip = generate_gesture_clip(o, 11, i);
    ASSERT_EQ(clip.label, i % 10);
    ++per_class[size_t(clip.label)];
    shapes[size_t(clip.label)].insert(clip.shape);
  }
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(per_class[size_t(c)], 20) << gesture_class_name(c);
    EXPECT_GE(shapes[size_t(c)].size(), 3u) << gesture_class_name(c) << " shows too few shapes";
  }
  o.classes = 4;
  EXPECT_EQ(generate_gesture_clip(o, 11, 6).label, 2);
}

TEST(GestureSynth, EachClassMovesTheHandAsNamed) {
  SynthOptions o;
  o.frames = 24;
  o.noise = 0.0;
  o.clutter = 0;
  o.jitter = 0.0;
  const double n = o.size;
  for (int label = 0; label < kGestureClasses; ++label) {
    for (int64_t k = 0; k < 4; ++k) {
      const GestureClip clip = generate_gesture_clip(o, 21, label + 10 * k);
      const std::vector<HandStats> t = hand_track(clip, o);
      const HandStats &first = t.front(), &last = t.back();
      const double dx = last.x - first.x, dy = last.y - first.y;
      const std::string what = std::string(gesture_class_name(label)) + " clip " +
                               std::to_string(label + 10 * k) + " shape " +
                               hand_shape_name(clip.shape);
      double peak = 0.0;
      for (const HandStats& s : t) peak = std::max(peak, s.area);
      switch (label) {
        case 0:
          EXPECT_LT(dx, -0.2 * n) << what;
          EXPECT_LT(std::abs(dy), 0.05 * n) << what;
          break;
        case 1:
          EXPECT_GT(dx, 0.2 * n) << what;
          EXPECT_LT(std::abs(dy), 0.05 * n) << what;
          break;
        case 2:
          EXPECT_LT(dy, -0.2 * n) << what;
          EXPECT_LT(std::abs(dx), 0.05 * n) << what;
          break;
        case 3:
          EXPECT_GT(dy, 0.2 * n) << what;
          EXPECT_LT(std::abs(dx), 0.05 * n) << what;
          break;
        case 4:
          EXPECT_GT(swept_area(t), 0.1 * n * n) << what;
          break;
        case 5:
          EXPECT_LT(swept_area(t), -0.1 * n * n) << what;
          break;
        case 6:
          EXPECT_GT(last.area, 1.8 * first.area) << what;
          break;
        case 7:
          EXPECT_LT(1.8 * last.area, first.area) << what;
          break;
        case 8:
          EXPECT_GE(x_turns(t), 3) << what;
          EXPECT_LT(std::abs(dx), 0.05 * n) << what;
          break;
        default:
          EXPECT_GT(peak, 1.8 * first.area) << what;
          EXPECT_NEAR(last.area / first.area, 1.0, 0.2) << what;
      }
      if (label < 4 || label == 8) {
        EXPECT_NEAR(last.area / first.area, 1.0, 0.2) << what;
      }
    }
  }
}

TEST(GestureSynth, BadOptionsAreErrors) {
  SynthOptions o;
  o.classes = 11;
  expect_error([&] { check_synth_options(o); }, {"classes 11"});
  o = SynthOptions();
  o.size = 33;
  expect_error([&] { check_synth_options(o); }, {"size 33", "even"});
  o = SynthOptions();
  o.speed_min = 0.5;
  expect_error([&] { check_synth_options(o); }, {"speed range"});
  o = SynthOptions();
  o.hand_min = 0.5;
  o.hand_max = 0.4;
  expect_error([&] { check_synth_options(o); }, {"hand size range"});
}

// All bytes of a file.
std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(GestureSynth, WrittenSplitReadsBackAndDoesNotDependOnThreads) {
  if (!video_support()) GTEST_SKIP() << "signet_media built without FFmpeg";
  std::string pattern = (fs::temp_directory_path() / "signet-synth-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
  SynthOptions o = small_options();
  o.classes = 3;
  std::vector<int64_t> reported;
  const std::vector<GestureFile> one = write_gesture_split(
      (dir / "a").string(), "train", o, 5, 7, 1, [&](int64_t done) { reported.push_back(done); });
  const std::vector<GestureFile> two =
      write_gesture_split((dir / "b").string(), "train", o, 5, 7, 2);
  EXPECT_EQ(reported, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7}));
  ASSERT_EQ(one.size(), 7u);
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].path, two[i].path);
    EXPECT_EQ(one[i].label, int64_t(i % 3));
    EXPECT_EQ(one[i].shape, generate_gesture_clip(o, 5, int64_t(i)).shape);
    EXPECT_EQ(file_bytes(dir / "a" / one[i].path), file_bytes(dir / "b" / two[i].path))
        << one[i].path;
  }
  EXPECT_EQ(one[4].path, "train/swipe_right/train_00004.mp4");
  const signet::Tensor clip = read_video((dir / "a" / one[4].path).string());
  EXPECT_EQ(clip.shape(), (signet::Shape{8, 32, 32, 3}));
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

}  // namespace
