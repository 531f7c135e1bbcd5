// Decoded-clip cache (tools/media/clip_cache.h) and its use by ClipDataset: a reopened cache
// gives the same clips without decoding, a changed option or source is decoded again, a
// damaged cache file is rebuilt with a warning. Videos are written in the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/support/require_video.h"
#include "tools/media/clip_cache.h"
#include "tools/media/clip_dataset.h"
#include "tools/media/video_writer.h"

namespace {

namespace fs = std::filesystem;
using namespace signet::media;
using signet::DType;
using signet::Tensor;
using signet::testing::expect_error;
using signet::testing::read_bytes;
using signet::testing::TempDir;
using signet::testing::write_bytes;

// Writes a `frames`-frame 16 x 16 clip whose frame t has grey level base + 10 t.
std::string write_clip(const TempDir& dir, const std::string& name, int frames, int base) {
  std::vector<uint8_t> rgb(size_t(frames) * 16 * 16 * 3);
  for (int t = 0; t < frames; ++t)
    std::fill_n(rgb.begin() + size_t(t) * 16 * 16 * 3, 16 * 16 * 3, uint8_t(base + 10 * t));
  const std::string path = dir.file(name);
  write_video(path, rgb.data(), frames, 16, 16);
  return path;
}

// Three labelled clips of different lengths and levels.
std::vector<LabelledVideo> three_videos(const TempDir& dir) {
  return {{write_clip(dir, "a.mp4", 10, 20), 0},
          {write_clip(dir, "b.mp4", 6, 60), 1},
          {write_clip(dir, "c.mp4", 12, 100), 2}};
}

// Options with a cache in dir: 4 frames of 8 x 8 RGB, one decoding thread.
ClipOptions cached_options(const TempDir& dir) {
  ClipOptions o;
  o.frames = 4;
  o.size = 8;
  o.threads = 1;
  o.cache_path = dir.file("clips.cache");
  return o;
}

// Every sample's input bytes and label, for comparing two data sets.
std::vector<std::vector<float>> contents(const ClipDataset& ds) {
  std::vector<std::vector<float>> out;
  for (int64_t i = 0; i < ds.size(); ++i) {
    signet::data::Sample s = ds.get(i);
    std::vector<float> v = s.input.contiguous().to_vector<float>();
    v.push_back(float(s.label));
    out.push_back(v);
  }
  return out;
}

// Replaces a file's bytes by zeros of the same length and gives it back its modification time.
void scramble_keeping_stamp(const std::string& path) {
  const fs::file_time_type mtime = fs::last_write_time(path);
  write_bytes(path, std::string(read_bytes(path).size(), '\0'));
  fs::last_write_time(path, mtime);
}

TEST(ClipCache, ReopenedCacheGivesTheSameClipsWithoutDecoding) {
  REQUIRE_VIDEO();
  TempDir dir("signet-clipcache");
  const std::vector<LabelledVideo> videos = three_videos(dir);
  const ClipOptions options = cached_options(dir);
  const ClipDataset first(videos, options);
  EXPECT_EQ(first.decoded(), 3);
  ASSERT_TRUE(fs::exists(options.cache_path));
  // The videos become undecodable (zeros) but keep their size and time: only the cache can
  // give the clips now.
  for (const LabelledVideo& v : videos) scramble_keeping_stamp(v.path);
  const ClipDataset second(videos, options);
  EXPECT_EQ(second.decoded(), 0);
  EXPECT_EQ(second.skipped(), 0);
  ASSERT_EQ(second.size(), 3);
  EXPECT_EQ(contents(second), contents(first));
  EXPECT_EQ(second.get(0).input.shape(), (signet::Shape{4, 3, 8, 8}));
}

TEST(ClipCache, ChangedOptionRebuildsTheCache) {
  REQUIRE_VIDEO();
  TempDir dir("signet-clipcache");
  const std::vector<LabelledVideo> videos = three_videos(dir);
  ClipOptions options = cached_options(dir);
  EXPECT_EQ(ClipDataset(videos, options).decoded(), 3);
  options.size = 4;
  ::testing::internal::CaptureStderr();
  const ClipDataset resized(videos, options);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(resized.decoded(), 3);
  EXPECT_EQ(resized.get(0).input.shape(), (signet::Shape{4, 3, 4, 4}));
  EXPECT_NE(log.find("made with size 8"), std::string::npos) << log;
  EXPECT_EQ(ClipDataset(videos, options).decoded(), 0);
  options.frames = 5;
  EXPECT_EQ(ClipDataset(videos, options).decoded(), 3);
  options.color = ColorMode::gray;
  EXPECT_EQ(ClipDataset(videos, options).decoded(), 3);
  options.padding = ShortClipPadding::repeat_last;
  EXPECT_EQ(ClipDataset(videos, options).decoded(), 3);
  EXPECT_EQ(ClipDataset(videos, options).decoded(), 0);
}

TEST(ClipCache, ChangedSourceIsDecodedAgain) {
  REQUIRE_VIDEO();
  TempDir dir("signet-clipcache");
  std::vector<LabelledVideo> videos = three_videos(dir);
  const ClipOptions options = cached_options(dir);
  const ClipDataset first(videos, options);
  write_clip(dir, "b.mp4", 9, 150);
  fs::last_write_time(videos[1].path, fs::last_write_time(videos[1].path) + std::chrono::hours(1));
  const ClipDataset second(videos, options);
  EXPECT_EQ(second.decoded(), 1);
  EXPECT_EQ(contents(second)[0], contents(first)[0]);
  EXPECT_EQ(contents(second)[2], contents(first)[2]);
  EXPECT_GT(second.get(1).input.to_vector<float>()[0], 0.5f);  // level >= 150 now, was 60
  // A different frame range of the same file is another entry.
  videos[0].frame_end = 5;
  EXPECT_EQ(ClipDataset(videos, options).decoded(), 1);
}

TEST(ClipCache, TruncatedOrForeignCacheIsRebuiltWithAWarning) {
  REQUIRE_VIDEO();
  TempDir dir("signet-clipcache");
  const std::vector<LabelledVideo> videos = three_videos(dir);
  const ClipOptions options = cached_options(dir);
  const ClipDataset first(videos, options);
  const std::string whole = read_bytes(options.cache_path);
  for (size_t keep : {whole.size() - 1, whole.size() / 2, size_t(20), size_t(3)}) {
    write_bytes(options.cache_path, whole.substr(0, keep));
    ::testing::internal::CaptureStderr();
    const ClipDataset rebuilt(videos, options);
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(rebuilt.decoded(), 3) << keep;
    EXPECT_EQ(contents(rebuilt), contents(first)) << keep;
    EXPECT_NE(log.find("warning: clip cache " + options.cache_path), std::string::npos) << log;
    EXPECT_NE(log.find("truncated"), std::string::npos) << log;
    EXPECT_EQ(read_bytes(options.cache_path), whole) << "rebuilt cache differs, keep " << keep;
  }
  write_bytes(options.cache_path, "not a cache at all, just some text to fill the header");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(ClipDataset(videos, options).decoded(), 3);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("not a clip cache"), std::string::npos);
}

TEST(ClipCache, SkippedFilesAreRememberedWithTheirReason) {
  REQUIRE_VIDEO();
  TempDir dir("signet-clipcache");
  std::vector<LabelledVideo> videos = three_videos(dir);
  const std::string bad = dir.file("bad.mp4");
  write_bytes(bad, "not a video");
  videos.push_back({bad, 1});
  videos.push_back({dir.file("later.mp4"), 2});
  const ClipOptions options = cached_options(dir);
  ::testing::internal::CaptureStderr();
  const ClipDataset first(videos, options);
  const ClipDataset second(videos, options);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(first.decoded(), 5);
  EXPECT_EQ(second.decoded(), 0);
  ASSERT_EQ(second.skipped(), 2);
  EXPECT_EQ(second.skipped_files()[0].path, bad);
  EXPECT_EQ(second.skipped_files()[0].reason, first.skipped_files()[0].reason);
  EXPECT_NE(second.skipped_files()[1].reason.find("no such file"), std::string::npos);
  EXPECT_NE(log.find("ClipDataset: skipped 2 of 5 files"), std::string::npos) << log;
  // The missing file appears: it alone is decoded.
  write_clip(dir, "later.mp4", 5, 40);
  ::testing::internal::CaptureStderr();
  const ClipDataset third(videos, options);
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(third.decoded(), 1);
  EXPECT_EQ(third.skipped(), 1);
  EXPECT_EQ(third.size(), 4);
}

TEST(ClipCache, UnwritableCacheWarnsAndTheDataSetStillLoads) {
  REQUIRE_VIDEO();
  TempDir dir("signet-clipcache");
  const std::vector<LabelledVideo> videos = three_videos(dir);
  ClipOptions options = cached_options(dir);
  options.cache_path = dir.file("no-such-folder/clips.cache");
  ::testing::internal::CaptureStderr();
  const ClipDataset ds(videos, options);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(ds.size(), 3);
  EXPECT_NE(log.find("warning: clip cache not written"), std::string::npos) << log;
}

TEST(ClipCache, FileRoundTripsEntriesAndRefusesOtherSettings) {
  TempDir dir("signet-clipcache");
  const std::string path = dir.file("direct.cache");
  ClipCacheSettings settings;
  settings.size = 2;
  settings.frames = 3;
  std::vector<ClipCacheEntry> entries(2);
  entries[0].path = "x/one.avi";
  entries[0].frame_start = 4;
  entries[0].frame_end = 9;
  entries[0].stamp = {1234, 5678};
  entries[0].label = 7;
  std::vector<uint8_t> pixels(3 * 2 * 2 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 7);
  entries[0].clip = signet::from_vector(pixels, {3, 2, 2, 3});
  entries[1].path = "x/two.avi";
  entries[1].error = "x/two.avi: empty file (0 bytes)";
  write_clip_cache(path, settings, entries);
  const ClipCacheContents back = read_clip_cache(path, settings);
  ASSERT_TRUE(back.usable) << back.reason;
  ASSERT_EQ(back.entries.size(), 2u);
  EXPECT_EQ(back.entries[0].path, "x/one.avi");
  EXPECT_EQ(back.entries[0].frame_start, 4);
  EXPECT_EQ(back.entries[0].frame_end, 9);
  EXPECT_EQ(back.entries[0].stamp.size, 1234u);
  EXPECT_EQ(back.entries[0].stamp.mtime_ns, 5678);
  EXPECT_EQ(back.entries[0].label, 7);
  EXPECT_EQ(back.entries[0].clip.shape(), (signet::Shape{3, 2, 2, 3}));
  EXPECT_EQ(back.entries[0].clip.to_vector<uint8_t>(), pixels);
  EXPECT_EQ(back.entries[1].error, entries[1].error);
  EXPECT_FALSE(back.entries[1].clip.defined());

  ClipCacheSettings other = settings;
  other.sampling = FrameSampling::random_segment;
  const ClipCacheContents refused = read_clip_cache(path, other);
  EXPECT_FALSE(refused.usable);
  EXPECT_NE(refused.reason.find("uniform"), std::string::npos) << refused.reason;
  const ClipCacheContents none = read_clip_cache(dir.file("absent.cache"), settings);
  EXPECT_FALSE(none.usable);
  EXPECT_EQ(none.reason, "");
  // Another version in the header (1: before lengths; 3: a later build): refused, not misread.
  const std::string bytes = read_bytes(path);
  for (char version : {1, 3}) {
    std::string other_version = bytes;
    other_version[8] = version;
    write_bytes(path, other_version);
    const ClipCacheContents refused_version = read_clip_cache(path, settings);
    EXPECT_FALSE(refused_version.usable);
    EXPECT_NE(refused_version.reason.find("format version " + std::to_string(version) +
                                          ", this build writes 2"),
              std::string::npos)
        << refused_version.reason;
  }
}

TEST(ClipCache, FileRoundTripsLengthsAndRefusesBadOnes) {
  TempDir dir("signet-clipcache");
  const std::string path = dir.file("lengths.cache");
  ClipCacheSettings settings;
  settings.frames = 4;
  settings.padding = ShortClipPadding::zeros;
  std::vector<ClipCacheEntry> entries(3);
  for (size_t i = 0; i < entries.size(); ++i) {
    entries[i].path = "clip" + std::to_string(i) + ".avi";
    entries[i].clip = signet::full({4, 1, 1, 1}, 9.0, DType::u8);
  }
  entries[0].length = 2;
  entries[1].length = 4;
  write_clip_cache(path, settings, entries);
  const ClipCacheContents back = read_clip_cache(path, settings);
  ASSERT_TRUE(back.usable) << back.reason;
  ASSERT_EQ(back.entries.size(), 3u);
  EXPECT_EQ(back.entries[0].length, 2);
  EXPECT_EQ(back.entries[1].length, 4);
  EXPECT_EQ(back.entries[2].length, -1);
  for (int64_t bad : {int64_t(0), int64_t(5), int64_t(-2)}) {
    entries[0].length = bad;
    const std::string said = "has length " + std::to_string(bad);
    expect_error([&] { write_clip_cache(path, settings, entries); }, {"clip0.avi", said.c_str()});
  }
  entries[0].length = 2;
  // A damaged length in the file (entry 0's, after its path, range, stamp and label) is refused.
  std::string bytes = read_bytes(path);
  const size_t header = 8 + 4 + 4 + 8 + 3 + 8;
  const size_t at = header + 4 + entries[0].path.size() + 5 * 8;
  int64_t length = 0;
  std::memcpy(&length, bytes.data() + at, 8);
  ASSERT_EQ(length, 2);
  length = 5;
  std::memcpy(bytes.data() + at, &length, 8);
  write_bytes(path, bytes);
  const ClipCacheContents damaged = read_clip_cache(path, settings);
  EXPECT_FALSE(damaged.usable);
  EXPECT_NE(damaged.reason.find("clip length 5"), std::string::npos) << damaged.reason;
}

TEST(ClipCache, ZerosPaddingGivesLengthsThatACacheHitKeeps) {
  REQUIRE_VIDEO();
  TempDir dir("signet-clipcache");
  const std::vector<LabelledVideo> videos = three_videos(dir);  // 10, 6 and 12 frames
  ClipOptions options = cached_options(dir);
  options.frames = 8;
  options.padding = ShortClipPadding::zeros;
  const ClipDataset first(videos, options);
  EXPECT_EQ(first.decoded(), 3);
  ASSERT_EQ(first.size(), 3);
  EXPECT_EQ(first.get(0).length, 8);
  EXPECT_EQ(first.get(1).length, 6);
  EXPECT_EQ(first.get(2).length, 8);
  // The short clip: its 6 real frames (grey 60 + 10 t, never 0), then 2 zero frames.
  const Tensor short_clip = first.get(1).input;
  ASSERT_EQ(short_clip.shape(), (signet::Shape{8, 3, 8, 8}));
  const std::vector<float> v = short_clip.contiguous().to_vector<float>();
  const size_t frame = 3 * 8 * 8;
  for (size_t t = 0; t < 8; ++t) {
    const auto [lo, hi] = std::minmax_element(v.begin() + t * frame, v.begin() + (t + 1) * frame);
    if (t < 6) {
      EXPECT_GT(*lo, 0.15f) << "frame " << t;
    } else {
      EXPECT_EQ(*lo, 0.0f) << "frame " << t;
      EXPECT_EQ(*hi, 0.0f) << "frame " << t;
    }
  }
  // A cache hit (the videos can no longer be decoded) gives the same lengths and clips.
  for (const LabelledVideo& video : videos) scramble_keeping_stamp(video.path);
  const ClipDataset second(videos, options);
  EXPECT_EQ(second.decoded(), 0);
  ASSERT_EQ(second.size(), 3);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(second.get(i).length, first.get(i).length) << i;
  EXPECT_EQ(contents(second), contents(first));
}

TEST(ClipCache, OtherPaddingsReportNoLength) {
  REQUIRE_VIDEO();
  TempDir dir("signet-clipcache");
  const std::vector<LabelledVideo> videos = three_videos(dir);
  ClipOptions options = cached_options(dir);
  options.frames = 8;
  for (ShortClipPadding pad :
       {ShortClipPadding::loop_reverse, ShortClipPadding::repeat_last, ShortClipPadding::stretch}) {
    options.padding = pad;
    const ClipDataset ds(videos, options);
    for (int64_t i = 0; i < ds.size(); ++i)
      EXPECT_EQ(ds.get(i).length, -1) << short_clip_padding_name(pad) << " " << i;
  }
}

}  // namespace
