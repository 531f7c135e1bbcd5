// Video writing and reading through FFmpeg (tools/media/video_writer.h, video_reader.h) and
// frame sampling to a fixed length. Videos are written in the test into a temporary folder.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/random.h"
#include "support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/support/require_video.h"
#include "tools/media/video_reader.h"
#include "tools/media/video_writer.h"

namespace {

namespace fs = std::filesystem;
using namespace signet::media;
using signet::DType;
using signet::Tensor;
using signet::testing::expect_error;
using signet::testing::TempDir;
using signet::testing::temporaries_beside;

// Lossy-codec tolerance for flat frames, in levels of 0..255. RGB -> limited-range 4:2:0 YUV
// -> RGB rounds each channel by up to ~2 levels; a flat frame has no AC coefficients, so the
// encoder only quantises its DC terms, which at crf 18 / mpeg4 q 4 costs a few more.
constexpr int kTolerance = 8;

// `frames` flat frames, frame i grey level 8 + 6 i, so frames can be told apart after decoding.
std::vector<uint8_t> numbered_frames(int frames, int width, int height) {
  std::vector<uint8_t> rgb(size_t(frames) * width * height * 3);
  for (int t = 0; t < frames; ++t)
    std::fill_n(rgb.begin() + size_t(t) * width * height * 3, size_t(width) * height * 3,
                uint8_t(8 + 6 * t));
  return rgb;
}

// The frame number i such that frame t of clip has grey level 8 + 6 i (mean over its pixels).
int frame_number(const Tensor& clip, int64_t t) {
  const int64_t frame_values = clip.numel() / clip.size(0);
  const uint8_t* p = clip.data<uint8_t>() + t * frame_values;
  double sum = 0.0;
  for (int64_t i = 0; i < frame_values; ++i) sum += p[i];
  return int(std::lround((sum / double(frame_values) - 8.0) / 6.0));
}

// The frame numbers of every frame of a clip.
std::vector<int> frame_numbers(const Tensor& clip) {
  std::vector<int> out;
  for (int64_t t = 0; t < clip.size(0); ++t) out.push_back(frame_number(clip, t));
  return out;
}

// 0-based numbers first .. last.
std::vector<int> range(int first, int last) {
  std::vector<int> out;
  for (int i = first; i <= last; ++i) out.push_back(i);
  return out;
}

// Writes the 40-frame numbered clip (32 x 24, key frame every 12) to dir/name.
std::string write_numbered(const TempDir& dir, const std::string& name, const std::string& codecs) {
  const std::string path = dir.file(name);
  VideoWriterOptions options;
  options.codecs = codecs;
  const std::vector<uint8_t> rgb = numbered_frames(40, 32, 24);
  write_video(path, rgb.data(), 40, 32, 24, options);
  return path;
}

TEST(Video, FlatColourRoundTripsWithinCodecTolerance) {
  REQUIRE_VIDEO();
  TempDir dir("signet-video");
  const uint8_t colour[3] = {200, 60, 30};
  std::vector<uint8_t> rgb(size_t(10) * 24 * 32 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = colour[i % 3];
  for (const char* name : {"flat.mp4", "flat.avi", "flat.mkv"}) {
    const std::string path = dir.file(name);
    VideoWriterOptions options;
    options.codecs = std::string(name) == "flat.avi" ? "mpeg4" : "libx264,mpeg4";
    write_video(path, rgb.data(), 10, 32, 24, options);
    EXPECT_TRUE(temporaries_beside(path).empty());
    const VideoInfo info = probe_video(path);
    EXPECT_EQ(info.width, 32);
    EXPECT_EQ(info.height, 24);
    EXPECT_NEAR(info.fps, 25.0, 1e-6);
    const Tensor clip = read_video(path);
    ASSERT_EQ(clip.shape(), (signet::Shape{10, 24, 32, 3})) << name;
    EXPECT_EQ(clip.dtype(), DType::u8);
    const uint8_t* p = clip.data<uint8_t>();
    int worst = 0;
    for (int64_t i = 0; i < clip.numel(); ++i)
      worst = std::max(worst, std::abs(p[i] - colour[i % 3]));
    EXPECT_LE(worst, kTolerance) << name << " (" << info.codec << ")";
  }
}

TEST(Video, GreyAndResize) {
  REQUIRE_VIDEO();
  TempDir dir("signet-video");
  const std::string path = write_numbered(dir, "numbered.mp4", "libx264,mpeg4");
  VideoReadOptions grey;
  grey.color = ColorMode::gray;
  const Tensor g = read_video(path, grey);
  ASSERT_EQ(g.shape(), (signet::Shape{40, 24, 32, 1}));
  EXPECT_EQ(frame_numbers(g), range(0, 39));
  VideoReadOptions small;
  small.width = 16;
  small.height = 8;
  EXPECT_EQ(read_video(path, small).shape(), (signet::Shape{40, 8, 16, 3}));
  VideoReadOptions aspect;
  aspect.width = 16;
  const Tensor a = read_video(path, aspect);
  ASSERT_EQ(a.shape(), (signet::Shape{40, 12, 16, 3}));
  EXPECT_EQ(frame_numbers(a), range(0, 39));
}

TEST(Video, FrameRangesAreOneBasedInclusiveWithMinusOneToTheEnd) {
  REQUIRE_VIDEO();
  TempDir dir("signet-video");
  for (const auto& [name, codecs] :
       {std::pair<const char*, const char*>{"n.mp4", "libx264,mpeg4"}, {"n.avi", "mpeg4"}}) {
    const std::string path = write_numbered(dir, name, codecs);
    EXPECT_EQ(frame_numbers(read_video(path)), range(0, 39)) << name;
    const auto read = [&](int64_t start, int64_t end) {
      VideoReadOptions o;
      o.frame_start = start;
      o.frame_end = end;
      return frame_numbers(read_video(path, o));
    };
    EXPECT_EQ(read(1, 1), range(0, 0)) << name;
    EXPECT_EQ(read(5, 8), range(4, 7)) << name;
    EXPECT_EQ(read(30, 35), range(29, 34)) << name;  // seeks past key frames 12 and 24
    EXPECT_EQ(read(38, -1), range(37, 39)) << name;
    EXPECT_EQ(read(39, 100), range(38, 39)) << name;  // an end past the last frame stops there
    expect_error([&] { read(41, -1); }, {path.c_str(), "past the last frame", "40 frames"});
    expect_error([&] { read(0, 5); }, {path.c_str(), "1-based"});
    expect_error([&] { read(6, 5); }, {path.c_str(), "before frame_start"});
  }
}

TEST(Video, BadFilesGiveErrorsNamingTheFile) {
  REQUIRE_VIDEO();
  TempDir dir("signet-video");
  const std::string good = write_numbered(dir, "good.mp4", "libx264,mpeg4");
  const std::string truncated = dir.file("truncated.mp4");
  {
    std::ifstream in(good, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(truncated, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size() / 2));
  }
  expect_error([&] { read_video(truncated); }, {truncated.c_str(), "cannot open as video"});
  const std::string empty_file = dir.file("empty.mp4");
  std::ofstream(empty_file).close();
  expect_error([&] { read_video(empty_file); }, {empty_file.c_str(), "empty file"});
  expect_error([&] { probe_video(empty_file); }, {empty_file.c_str(), "empty file"});
  const std::string text = dir.file("notes.avi");
  std::ofstream(text) << "not a video at all\n";
  expect_error([&] { read_video(text); }, {text.c_str(), "cannot open as video"});
  const std::string missing = dir.file("missing.mp4");
  expect_error([&] { read_video(missing); }, {missing.c_str(), "no such file"});
}

TEST(Video, WriterRefusesBadArgumentsNamingTheFile) {
  REQUIRE_VIDEO();
  TempDir dir("signet-video");
  const std::vector<uint8_t> rgb(size_t(2) * 10 * 10 * 3);
  const std::string odd = dir.file("odd.mp4");
  expect_error([&] { write_video(odd, rgb.data(), 1, 9, 10); }, {odd.c_str(), "even"});
  const std::string unknown = dir.file("clip.notaformat");
  expect_error([&] { write_video(unknown, rgb.data(), 1, 10, 10); },
               {unknown.c_str(), "no container format"});
  const std::string no_codec = dir.file("clip.mp4");
  VideoWriterOptions options;
  options.codecs = "no_such_encoder";
  expect_error([&] { write_video(no_codec, rgb.data(), 1, 10, 10, options); },
               {no_codec.c_str(), "no_such_encoder"});
  EXPECT_TRUE(temporaries_beside(no_codec).empty());
  EXPECT_FALSE(fs::exists(no_codec));
}

TEST(FrameSampling, UniformSpreadsOverLongClips) {
  for (ShortClipPadding pad : {ShortClipPadding::loop_reverse, ShortClipPadding::repeat_last,
                               ShortClipPadding::stretch, ShortClipPadding::zeros}) {
    EXPECT_EQ(sample_frame_indices(40, 5, FrameSampling::uniform, pad),
              (std::vector<int64_t>{0, 10, 20, 29, 39}));
    EXPECT_EQ(sample_frame_indices(4, 4, FrameSampling::uniform, pad),
              (std::vector<int64_t>{0, 1, 2, 3}));
  }
  EXPECT_EQ(sample_frame_indices(9, 1, FrameSampling::uniform, ShortClipPadding::loop_reverse),
            (std::vector<int64_t>{4}));
}

TEST(FrameSampling, ShortClipsArePaddedByTheChosenRule) {
  for (FrameSampling rule : {FrameSampling::uniform, FrameSampling::random_segment}) {
    signet::RngStream rng = signet::augment_stream(1, 0, 0);
    EXPECT_EQ(sample_frame_indices(3, 8, rule, ShortClipPadding::loop_reverse, &rng),
              (std::vector<int64_t>{0, 1, 2, 2, 1, 0, 0, 1}));
    EXPECT_EQ(sample_frame_indices(3, 8, rule, ShortClipPadding::repeat_last, &rng),
              (std::vector<int64_t>{0, 1, 2, 2, 2, 2, 2, 2}));
    EXPECT_EQ(sample_frame_indices(3, 5, rule, ShortClipPadding::stretch, &rng),
              (std::vector<int64_t>{0, 1, 1, 2, 2}));
    EXPECT_EQ(sample_frame_indices(1, 3, rule, ShortClipPadding::loop_reverse, &rng),
              (std::vector<int64_t>{0, 0, 0}));
    EXPECT_EQ(sample_frame_indices(3, 8, rule, ShortClipPadding::zeros, &rng),
              (std::vector<int64_t>{0, 1, 2, -1, -1, -1, -1, -1}));
  }
}

TEST(FrameSampling, OnlyZerosPaddingReportsALength) {
  EXPECT_EQ(sampled_length(3, 8, ShortClipPadding::zeros), 3);
  EXPECT_EQ(sampled_length(8, 8, ShortClipPadding::zeros), 8);
  EXPECT_EQ(sampled_length(40, 8, ShortClipPadding::zeros), 8);
  for (ShortClipPadding pad :
       {ShortClipPadding::loop_reverse, ShortClipPadding::repeat_last, ShortClipPadding::stretch}) {
    EXPECT_EQ(sampled_length(3, 8, pad), -1);
    EXPECT_EQ(sampled_length(40, 8, pad), -1);
  }
}

TEST(FrameSampling, TakeFramesZeroFillsIndexMinusOne) {
  std::vector<uint8_t> pixels(3 * 2 * 2);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(10 + i);
  const Tensor clip = signet::from_vector(pixels, {3, 2, 2});
  const Tensor out = take_frames(clip, {2, -1, 0, -1});
  ASSERT_EQ(out.shape(), (signet::Shape{4, 2, 2}));
  EXPECT_EQ(out.to_vector<uint8_t>(),
            (std::vector<uint8_t>{18, 19, 20, 21, 0, 0, 0, 0, 10, 11, 12, 13, 0, 0, 0, 0}));
  expect_error([&] { take_frames(clip, {0, -2}); }, {"index -2", "outside the clip's 3 frames"});
}

TEST(FrameSampling, RandomSegmentIsContiguousSeededAndVaried) {
  std::vector<int64_t> starts;
  for (uint64_t sample = 0; sample < 32; ++sample) {
    signet::RngStream a = signet::augment_stream(5, 0, sample), b = a;
    const auto idx =
        sample_frame_indices(20, 6, FrameSampling::random_segment, ShortClipPadding::stretch, &a);
    EXPECT_EQ(idx, sample_frame_indices(20, 6, FrameSampling::random_segment,
                                        ShortClipPadding::stretch, &b));
    ASSERT_EQ(idx.size(), 6u);
    for (size_t i = 1; i < idx.size(); ++i) EXPECT_EQ(idx[i], idx[i - 1] + 1);
    EXPECT_GE(idx.front(), 0);
    EXPECT_LE(idx.back(), 19);
    starts.push_back(idx.front());
  }
  std::sort(starts.begin(), starts.end());
  EXPECT_GE(std::unique(starts.begin(), starts.end()) - starts.begin(), 6);
}

TEST(FrameSampling, BadArgumentsAreErrors) {
  expect_error(
      [] { sample_frame_indices(0, 4, FrameSampling::uniform, ShortClipPadding::stretch); },
      {"no frames"});
  expect_error(
      [] { sample_frame_indices(4, 0, FrameSampling::uniform, ShortClipPadding::stretch); },
      {"cannot sample 0 frames"});
  expect_error(
      [] { sample_frame_indices(8, 4, FrameSampling::random_segment, ShortClipPadding::stretch); },
      {"random stream"});
  expect_error([] { parse_frame_sampling("middle"); }, {"middle", "uniform, random_segment"});
  EXPECT_EQ(parse_short_clip_padding("loop_reverse"), ShortClipPadding::loop_reverse);
  EXPECT_EQ(parse_short_clip_padding("zeros"), ShortClipPadding::zeros);
  EXPECT_STREQ(short_clip_padding_name(ShortClipPadding::zeros), "zeros");
  expect_error([] { parse_short_clip_padding("black"); },
               {"black", "loop_reverse, repeat_last, stretch, zeros"});
  EXPECT_EQ(parse_frame_sampling("random_segment"), FrameSampling::random_segment);
}

TEST(FrameSampling, DecodedShortAndLongClipsSampleToFixedLength) {
  REQUIRE_VIDEO();
  TempDir dir("signet-video");
  const std::string path = write_numbered(dir, "long.mp4", "libx264,mpeg4");
  VideoReadOptions first_six;
  first_six.frame_end = 6;
  const Tensor short_clip = read_video(path, first_six);
  const Tensor padded =
      take_frames(short_clip, sample_frame_indices(short_clip.size(0), 10, FrameSampling::uniform,
                                                   ShortClipPadding::loop_reverse));
  ASSERT_EQ(padded.shape(), (signet::Shape{10, 24, 32, 3}));
  EXPECT_EQ(frame_numbers(padded), (std::vector<int>{0, 1, 2, 3, 4, 5, 5, 4, 3, 2}));
  const Tensor long_clip = read_video(path);
  const Tensor uniform = take_frames(
      long_clip, sample_frame_indices(40, 5, FrameSampling::uniform, ShortClipPadding::stretch));
  EXPECT_EQ(frame_numbers(uniform), (std::vector<int>{0, 10, 20, 29, 39}));
  signet::RngStream rng = signet::augment_stream(3, 0, 7);
  const auto idx =
      sample_frame_indices(40, 8, FrameSampling::random_segment, ShortClipPadding::stretch, &rng);
  const std::vector<int> numbers = frame_numbers(take_frames(long_clip, idx));
  EXPECT_EQ(numbers, range(int(idx.front()), int(idx.front()) + 7));
  expect_error([&] { take_frames(long_clip, {40}); }, {"outside the clip's 40 frames"});
  const Tensor zero_padded =
      take_frames(short_clip, sample_frame_indices(short_clip.size(0), 10, FrameSampling::uniform,
                                                   ShortClipPadding::zeros));
  ASSERT_EQ(zero_padded.shape(), (signet::Shape{10, 24, 32, 3}));
  EXPECT_EQ(take_frames(zero_padded, {0, 1, 2, 3, 4, 5}).to_vector<uint8_t>(),
            short_clip.to_vector<uint8_t>());
  const std::vector<uint8_t> tail = take_frames(zero_padded, {6, 7, 8, 9}).to_vector<uint8_t>();
  EXPECT_EQ(tail, std::vector<uint8_t>(tail.size(), 0));
}

}  // namespace
