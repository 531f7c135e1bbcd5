// Bad input never stops a run: each unusable video (truncated, zero bytes, not a video, no
// frames in its range, missing) is skipped with one warning naming the file and the reason,
// counted and summarised; only a list with no usable file is an error. Each unusable image
// (truncated PNG, JPEG or BMP, zero bytes, not an image) is an error naming the file and why.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/support/require_video.h"
#include "tests/support/stb_write.h"
#include "tools/media/clip_dataset.h"
#include "tools/media/image_reader.h"
#include "tools/media/video_writer.h"

namespace {

using namespace signet::media;
using signet::testing::expect_error;
using signet::testing::read_bytes;
using signet::testing::TempDir;
using signet::testing::write_bytes;

// Writes an 8-frame 16 x 16 clip, frame t at grey level 30 + 20 t.
std::string write_clip(const TempDir& dir, const std::string& name) {
  std::vector<uint8_t> rgb(8 * 16 * 16 * 3);
  for (int t = 0; t < 8; ++t)
    std::fill_n(rgb.begin() + size_t(t) * 16 * 16 * 3, 16 * 16 * 3, uint8_t(30 + 20 * t));
  const std::string path = dir.file(name);
  write_video(path, rgb.data(), 8, 16, 16);
  return path;
}

// Occurrences of needle in haystack.
size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

// Two good clips and one bad file of each kind, with the reason each must be skipped for.
struct Mixed {
  std::vector<LabelledVideo> videos;
  std::vector<std::pair<std::string, std::string>> bad;  // path, fragment of the reason
};

Mixed mixed_list(const TempDir& dir) {
  Mixed m;
  const std::string good = write_clip(dir, "good.mp4");
  const std::string truncated = dir.file("truncated.mp4");
  const std::string whole = read_bytes(good);
  write_bytes(truncated, whole.substr(0, whole.size() / 2));
  const std::string zero = dir.file("zero.mp4");
  write_bytes(zero, "");
  const std::string text = dir.file("notes.avi");
  write_bytes(text, "these are notes, not a video\n");
  const std::string missing = dir.file("missing.mp4");
  m.videos = {{good, 0},
              {truncated, 1},
              {zero, 1},
              {text, 0},
              {good, 1, 20, -1},
              {missing, 0},
              {write_clip(dir, "other.mp4"), 1, 2, 5}};
  m.bad = {{truncated, "cannot open as video"},
           {zero, "empty file"},
           {text, "cannot open as video"},
           {good, "past the last frame"},
           {missing, "no such file"}};
  return m;
}

TEST(BadInput, EachBadVideoIsSkippedWithOneWarningNamingItAndTheReason) {
  REQUIRE_VIDEO();
  TempDir dir("signet-badinput");
  const Mixed m = mixed_list(dir);
  ClipOptions options;
  options.frames = 4;
  options.threads = 2;
  ::testing::internal::CaptureStderr();
  const ClipDataset ds(m.videos, options);
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(ds.size(), 2);
  EXPECT_EQ(ds.files(), 7);
  EXPECT_EQ(ds.get(0).label, 0);
  EXPECT_EQ(ds.get(1).label, 1);
  EXPECT_EQ(ds.get(1).input.shape(), (signet::Shape{4, 3, 16, 16}));
  ASSERT_EQ(ds.skipped(), 5);
  ASSERT_EQ(ds.skipped_files().size(), 5u);
  EXPECT_EQ(count(log, "warning: skipping "), 5u) << log;
  for (size_t k = 0; k < m.bad.size(); ++k) {
    const SkippedFile& s = ds.skipped_files()[k];
    EXPECT_EQ(s.path, m.bad[k].first);
    EXPECT_NE(s.reason.find(m.bad[k].second), std::string::npos) << s.reason;
    EXPECT_NE(log.find("warning: skipping " + s.path + ": " + s.reason), std::string::npos) << log;
  }
  EXPECT_NE(log.find("ClipDataset: skipped 5 of 7 files"), std::string::npos) << log;
  EXPECT_EQ(count(log, "skipped 5 of 7 files"), 1u) << log;
}

TEST(BadInput, CachedRunReportsTheSameSkips) {
  REQUIRE_VIDEO();
  TempDir dir("signet-badinput");
  const Mixed m = mixed_list(dir);
  ClipOptions options;
  options.frames = 4;
  options.cache_path = dir.file("cache.clips");
  ::testing::internal::CaptureStderr();
  const ClipDataset first(m.videos, options);
  const ClipDataset second(m.videos, options);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(second.decoded(), 0);  // the missing file's reason is remembered too
  ASSERT_EQ(second.skipped(), 5);
  for (size_t k = 0; k < m.bad.size(); ++k)
    EXPECT_EQ(second.skipped_files()[k].reason, first.skipped_files()[k].reason);
  EXPECT_EQ(count(log, "ClipDataset: skipped 5 of 7 files"), 2u) << log;
}

TEST(BadInput, NoUsableClipIsTheOnlyFatalCase) {
  REQUIRE_VIDEO();
  TempDir dir("signet-badinput");
  const std::string zero = dir.file("zero.mp4");
  write_bytes(zero, "");
  const std::string text = dir.file("text.mkv");
  write_bytes(text, "nothing to see");
  ::testing::internal::CaptureStderr();
  expect_error(
      [&] {
        ClipDataset({{zero, 0}, {text, 1}}, ClipOptions());
      },
      {"no usable clip among 2 files (2 skipped)"});
  expect_error([&] { ClipDataset({}, ClipOptions()); }, {"no usable clip among 0 files"});
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("warning: skipping " + zero), std::string::npos) << log;
}

#ifdef SIGNET_TEST_HAVE_STB_WRITE

TEST(BadInput, EachBadImageIsAnErrorNamingItAndTheReason) {
  if (!image_support()) GTEST_SKIP() << "signet_media built without stb_image";
  TempDir dir("signet-badinput");
  std::vector<uint8_t> rgb(24 * 16 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = uint8_t(i * 37);
  const std::string png = dir.file("a.png"), jpg = dir.file("a.jpg"), bmp = dir.file("a.bmp");
  ASSERT_NE(stbi_write_png(png.c_str(), 24, 16, 3, rgb.data(), 24 * 3), 0);
  ASSERT_NE(stbi_write_jpg(jpg.c_str(), 24, 16, 3, rgb.data(), 90), 0);
  ASSERT_NE(stbi_write_bmp(bmp.c_str(), 24, 16, 3, rgb.data()), 0);
  EXPECT_EQ(read_image(bmp).pixels, rgb);
  for (const auto& [path, format] : std::vector<std::pair<std::string, std::string>>{
           {png, "PNG"}, {jpg, "JPEG"}, {bmp, "BMP"}}) {
    const std::string whole = read_bytes(path);
    for (size_t keep : {whole.size() / 3, whole.size() * 9 / 10}) {
      const std::string cut = dir.file("cut-" + std::to_string(keep) + "-" + format);
      write_bytes(cut, whole.substr(0, keep));
      expect_error([&] { read_image(cut); }, {cut.c_str(), "truncated", format.c_str()});
    }
  }
  const std::string zero = dir.file("zero.png");
  write_bytes(zero, "");
  expect_error([&] { read_image(zero); }, {zero.c_str(), "empty file"});
  const std::string text = dir.file("notes.jpg");
  write_bytes(text, "a text file named like an image\n");
  expect_error([&] { read_image(text); }, {text.c_str(), "not a PNG, JPEG or BMP file"});
}

#endif

}  // namespace
