// The data-set formats users bring (tools/media/formats/): folder per class (videos, images),
// feature sequences (.npy), UCF-101 lists, WLASL json, ChaLearn IsoGD lists and Jester CSVs
// with frame folders. Tiny instances of each are written in the test: 8x8 videos of a few
// frames through FFmpeg, PNG frames through stb_image_write.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/io/npy.h"
#include "support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/support/require_video.h"
#include "tests/support/stb_write.h"
#include "tools/media/clip_dataset.h"
#include "tools/media/formats/feature_sequences.h"
#include "tools/media/formats/folder_per_class.h"
#include "tools/media/formats/image_dataset.h"
#include "tools/media/formats/isogd.h"
#include "tools/media/formats/jester.h"
#include "tools/media/formats/labelled_list.h"
#include "tools/media/formats/ucf101.h"
#include "tools/media/formats/wlasl.h"
#include "tools/media/image_reader.h"
#include "tools/media/video_reader.h"
#include "tools/media/video_writer.h"

namespace {

namespace fs = std::filesystem;
using namespace signet;
using namespace signet::media;
using signet::testing::error_of;
using signet::testing::expect_error;
using signet::testing::TempDir;
using signet::testing::write_bytes;

// Writes an 8x8 video of `frames` flat frames (frame k has grey level 20 + 40 k), making folders.
void write_tiny_video(const std::string& path, int frames) {
  fs::create_directories(fs::path(path).parent_path());
  std::vector<uint8_t> rgb(size_t(frames) * 8 * 8 * 3);
  for (int k = 0; k < frames; ++k)
    std::fill(rgb.begin() + k * 192, rgb.begin() + (k + 1) * 192, uint8_t(20 + 40 * k));
  write_video(path, rgb.data(), frames, 8, 8);
}

// Writes text to path, making folders.
void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  write_bytes(path, text);
}

// Writes a side x side PNG of one grey level (RGB), making folders; false without
// stb_image_write.
bool write_png(const std::string& path, uint8_t level, int side = 8) {
#ifdef SIGNET_TEST_HAVE_STB_WRITE
  fs::create_directories(fs::path(path).parent_path());
  std::vector<uint8_t> rgb(static_cast<size_t>(side * side * 3), level);
  return stbi_write_png(path.c_str(), side, side, 3, rgb.data(), side * 3) != 0;
#else
  (void)path;
  (void)level;
  (void)side;
  return false;
#endif
}

#define REQUIRE_PNG()                                           \
  if (!image_support() || !write_png(dir.file("probe.png"), 0)) \
  GTEST_SKIP() << "needs stb_image (signet_media) and stb_image_write (tests)"

// The labels of a list in order.
std::vector<int64_t> labels_of(const LabelledList& list) {
  std::vector<int64_t> out;
  for (const LabelledVideo& v : list.samples) out.push_back(v.label);
  return out;
}

// The file names (no folder) of a list in order.
std::vector<std::string> names_of(const LabelledList& list) {
  std::vector<std::string> out;
  for (const LabelledVideo& v : list.samples) out.push_back(fs::path(v.path).filename().string());
  return out;
}

TEST(FolderPerClass, SortedClassesHiddenIgnoredUnknownCounted) {
  TempDir dir("signet-formats");
  const std::string root = dir.file("set");
  for (const char* f : {"wave/b.mp4", "wave/a.AVI", "swipe/c.mkv", "swipe/notes.txt",
                        "swipe/.hidden.mp4", "zoom/d.mp4"})
    write_text(root + "/" + f, "x");
  fs::create_directories(root + "/.git");
  LabelledList list = read_folder_per_class(root, MediaKind::video);
  EXPECT_EQ(list.class_names, (std::vector<std::string>{"swipe", "wave", "zoom"}));
  EXPECT_EQ(names_of(list), (std::vector<std::string>{"c.mkv", "a.AVI", "b.mp4", "d.mp4"}));
  EXPECT_EQ(labels_of(list), (std::vector<int64_t>{0, 1, 1, 2}));
  EXPECT_EQ(list.skipped, 1);  // notes.txt; hidden files are not counted
  ASSERT_EQ(list.skipped_notes.size(), 1u);
  EXPECT_NE(list.skipped_notes[0].find("notes.txt"), std::string::npos);
  EXPECT_EQ(detect_media_kind(root), MediaKind::video);
  write_text(root + "/zoom/e.png", "x");
  expect_error([&] { detect_media_kind(root); }, {root.c_str(), "videos (4)", "images (1)"});
  expect_error([&] { read_folder_per_class(dir.file("none"), MediaKind::video); },
               {"none", "not a folder"});
  fs::create_directories(dir.file("flat"));
  expect_error([&] { read_folder_per_class(dir.file("flat"), MediaKind::video); },
               {"flat", "no class folder"});
}

TEST(FolderPerClass, VideosDecodeAndZeroByteFileIsSkipped) {
  REQUIRE_VIDEO();
  TempDir dir("signet-formats");
  const std::string root = dir.file("set");
  write_tiny_video(root + "/left/a.mp4", 3);
  write_tiny_video(root + "/right/b.mp4", 4);
  write_text(root + "/right/empty.mp4", "");
  LabelledList list = read_folder_per_class(root, MediaKind::video);
  ASSERT_EQ(list.samples.size(), 3u);
  ClipOptions co;
  co.frames = 4;
  co.threads = 1;
  ClipDataset clips(list.samples, co);
  EXPECT_EQ(clips.size(), 2);
  EXPECT_EQ(clips.skipped(), 1);
  EXPECT_EQ(clips.get(0).input.shape(), (Shape{4, 3, 8, 8}));
  EXPECT_EQ(clips.get(0).label, 0);
  EXPECT_EQ(clips.get(1).label, 1);
  // Every file unusable: fatal, with the count.
  std::vector<LabelledVideo> bad = {{root + "/right/empty.mp4", 0}};
  expect_error([&] { ClipDataset(bad, co); }, {"no usable clip"});
}

TEST(FolderPerClass, ImagesDecodeResizedWithLabels) {
  TempDir dir("signet-formats");
  REQUIRE_PNG();
  const std::string root = dir.file("shapes");
  ASSERT_TRUE(write_png(root + "/fist/1.png", 51));
  ASSERT_TRUE(write_png(root + "/open/2.png", 204));
  write_text(root + "/open/broken.png", "not a png");
  EXPECT_EQ(detect_media_kind(root), MediaKind::image);
  LabelledList list = read_folder_per_class(root, MediaKind::image);
  ImageOptions io;
  io.size = 4;
  io.channels = 1;
  ImageDataset ds(list.samples, io);
  ASSERT_EQ(ds.size(), 2);
  EXPECT_EQ(ds.skipped(), 1);
  data::Sample s = ds.get(1);
  EXPECT_EQ(s.input.shape(), (Shape{1, 4, 4}));
  EXPECT_EQ(s.label, 1);
  EXPECT_NEAR(s.input.to_vector<float>()[5], 204.0 / 255.0, 1e-6);
}

TEST(FolderPerClass, ImagesOfAnotherSizeAreSkippedWithoutResizing) {
  TempDir dir("signet-formats");
  REQUIRE_PNG();
  const std::string root = dir.file("sizes");
  ASSERT_TRUE(write_png(root + "/fist/1.png", 51));
  ASSERT_TRUE(write_png(root + "/open/2.png", 9, 16));
  LabelledList list = read_folder_per_class(root, MediaKind::image);
  ImageDataset ds(list.samples, ImageOptions{});
  ASSERT_EQ(ds.size(), 1);
  ASSERT_EQ(ds.skipped_files().size(), 1u);
  EXPECT_NE(ds.skipped_files()[0].path.find("2.png"), std::string::npos);
  EXPECT_NE(ds.skipped_files()[0].reason.find("differs from the first image"), std::string::npos);
}

TEST(FeatureSequences, FolderOfNpyServedAsTimeByFeature) {
  TempDir dir("signet-formats");
  const std::string root = dir.file("feats");
  fs::create_directories(root + "/a");
  fs::create_directories(root + "/b");
  Tensor long_seq = empty({5, 3}, DType::f32), short_seq = empty({2, 3}, DType::f64);
  for (int64_t i = 0; i < 15; ++i) long_seq.data<float>()[i] = float(i);
  for (int64_t i = 0; i < 6; ++i) short_seq.data<double>()[i] = 100.0 + double(i);
  io::write_npy(root + "/a/x.npy", long_seq);
  io::write_npy(root + "/b/y.npy", short_seq);
  io::write_npy(root + "/b/wrong_f.npy", empty({4, 2}, DType::f32).fill_(0.0));
  io::write_npy(root + "/b/flat.npy", empty({6}, DType::f32).fill_(0.0));
  LabelledList list = read_feature_folder(root);
  ASSERT_EQ(list.samples.size(), 4u);
  FeatureOptions fo;
  fo.frames = 4;
  FeatureDataset ds(list.samples, fo);
  ASSERT_EQ(ds.size(), 2);
  EXPECT_EQ(ds.skipped(), 2);  // the 1-D file and the one with F = 2
  EXPECT_EQ(ds.features(), 3);
  for (int64_t i = 0; i < 2; ++i) {
    data::Sample s = ds.get(i);
    EXPECT_EQ(s.input.shape(), (Shape{4, 3}));
    EXPECT_EQ(s.input.dtype(), DType::f32);
    EXPECT_EQ(s.label, i);
  }
  // Rows follow the clip sampling rules: uniform for the long one, loop-reverse padding for
  // the short one.
  const std::vector<float> got_long = ds.get(0).input.to_vector<float>();
  const std::vector<float> got_short = ds.get(1).input.to_vector<float>();
  const std::vector<int64_t> rows_long =
      sample_frame_indices(5, 4, FrameSampling::uniform, ShortClipPadding::loop_reverse);
  const std::vector<int64_t> rows_short =
      sample_frame_indices(2, 4, FrameSampling::uniform, ShortClipPadding::loop_reverse);
  for (size_t t = 0; t < 4; ++t)
    for (size_t f = 0; f < 3; ++f) {
      EXPECT_EQ(got_long[t * 3 + f], float(rows_long[t] * 3 + int64_t(f)));
      EXPECT_EQ(got_short[t * 3 + f], float(100 + rows_short[t] * 3 + int64_t(f)));
    }
  EXPECT_EQ(ds.get(1).length, -1);
  // Zero padding: the short one's 2 rows, then zero rows, with its real length.
  FeatureOptions zo = fo;
  zo.padding = ShortClipPadding::zeros;
  FeatureDataset zeros(list.samples, zo);
  const data::Sample padded = zeros.get(1);
  EXPECT_EQ(padded.length, 2);
  EXPECT_EQ(zeros.get(0).length, 4);
  EXPECT_EQ(padded.input.to_vector<float>(),
            (std::vector<float>{100, 101, 102, 103, 104, 105, 0, 0, 0, 0, 0, 0}));
  FeatureDataset keep(list.samples, FeatureOptions{});
  EXPECT_EQ(keep.get(0).input.shape(), (Shape{5, 3}));
  EXPECT_EQ(keep.get(1).length, -1);
  EXPECT_EQ(keep.get(1).input.shape(), (Shape{2, 3}));
  std::vector<LabelledVideo> none = {{root + "/b/flat.npy", 0}};
  expect_error([&] { FeatureDataset(none, fo); }, {"no usable sequence", "1 skipped"});
}

// A UCF-101 copy: three classes, lists in ucfTrainTestlist/, videos as one-byte files (the
// reader only checks that they exist); two test videos are spelt on disk unlike the list.
std::string write_ucf101(const TempDir& dir) {
  const std::string root = dir.file("ucf");
  write_text(root + "/ucfTrainTestlist/classInd.txt",
             "1 ApplyEyeMakeup\r\n2 HandstandPushups\r\n3 YoYo\r\n");
  write_text(root + "/ucfTrainTestlist/trainlist01.txt",
             "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\n"
             "HandstandPushups/v_HandStandPushups_g08_c01.avi 2\n\n"
             "YoYo/v_YoYo_g08_c01.avi 3\n"
             "YoYo/v_YoYo_g09_c01.avi 3\n");
  write_text(root + "/ucfTrainTestlist/testlist01.txt",
             "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\n"
             "HandStandPushups/v_HandStandPushups_g01_c01.avi\n"
             "yoyo/v_YoYo_g01_c01.avi\n");
  for (const char* f :
       {"ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi",
        "HandstandPushups/v_HandStandPushups_g08_c01.avi", "YoYo/v_YoYo_g08_c01.avi",
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi",
        "HandstandPushups/v_HandStandPushups_g01_c01.avi", "YoYo/v_yoyo_g01_c01.avi"})
    write_text(root + "/UCF-101/" + f, "x");
  return root;
}

TEST(Ucf101, TrainLabelsOneBasedTestLabelsFromFolderCaseInsensitive) {
  TempDir dir("signet-formats");
  const std::string root = write_ucf101(dir);
  Ucf101Layout layout = ucf101_layout(root);
  EXPECT_EQ(layout.videos, root + "/UCF-101");
  LabelledList train = read_ucf101(layout, "train");
  EXPECT_EQ(train.class_names,
            (std::vector<std::string>{"ApplyEyeMakeup", "HandstandPushups", "YoYo"}));
  EXPECT_EQ(labels_of(train), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(train.skipped, 1);  // v_YoYo_g09_c01.avi is not on disk
  EXPECT_NE(train.skipped_notes[0].find("v_YoYo_g09_c01.avi: missing"), std::string::npos);
  LabelledList test = read_ucf101(layout, "test");
  EXPECT_EQ(labels_of(test), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(test.skipped, 0);
  ASSERT_EQ(test.samples.size(), 3u);
  EXPECT_EQ(test.samples[1].path,
            layout.videos + "/HandstandPushups/v_HandStandPushups_g01_c01.avi");
  EXPECT_EQ(test.samples[2].path, layout.videos + "/YoYo/v_yoyo_g01_c01.avi");
  layout.split = 2;
  expect_error([&] { read_ucf101(layout, "train"); }, {"trainlist02.txt", "cannot open"});
}

TEST(Ucf101, MalformedLinesAndLabelsOutOfRangeNameFileAndLine) {
  TempDir dir("signet-formats");
  const std::string root = write_ucf101(dir);
  const std::string lists = root + "/ucfTrainTestlist";
  const std::vector<std::string> classes = read_ucf101_classes(lists + "/classInd.txt");
  write_text(dir.file("bad_label.txt"), "YoYo/v_YoYo_g08_c01.avi 3\nYoYo/v_YoYo_g08_c01.avi 4\n");
  expect_error(
      [&] { read_ucf101_list(dir.file("bad_label.txt"), root + "/UCF-101", classes, true); },
      {"bad_label.txt:2:", "label 4 is out of range [1, 3]"});
  write_text(dir.file("zero.txt"), "YoYo/v_YoYo_g08_c01.avi 0\n");
  expect_error([&] { read_ucf101_list(dir.file("zero.txt"), root + "/UCF-101", classes, true); },
               {"zero.txt:1:", "out of range [1, 3]"});
  write_text(dir.file("no_label.txt"), "\nYoYo/v_YoYo_g08_c01.avi\n");
  expect_error(
      [&] { read_ucf101_list(dir.file("no_label.txt"), root + "/UCF-101", classes, true); },
      {"no_label.txt:2:", "expected"});
  write_text(dir.file("text_label.txt"), "YoYo/v_YoYo_g08_c01.avi three\n");
  expect_error(
      [&] { read_ucf101_list(dir.file("text_label.txt"), root + "/UCF-101", classes, true); },
      {"text_label.txt:1:", "'three' is not an integer"});
  write_text(dir.file("unknown.txt"), "Juggling/v_Juggling_g01_c01.avi\n");
  expect_error(
      [&] { read_ucf101_list(dir.file("unknown.txt"), root + "/UCF-101", classes, false); },
      {"unknown.txt:1:", "'Juggling' matches no class"});
  write_text(dir.file("classInd.txt"), "1 A\n3 C\n");
  expect_error([&] { read_ucf101_classes(dir.file("classInd.txt")); },
               {"classInd.txt:2:", "out of range [1, 2]"});
}

// A WLASL copy with three glosses; `videos` names the video ids written to disk (6 frames).
std::string write_wlasl(const TempDir& dir, const std::vector<std::string>& videos) {
  const std::string root = dir.file("wlasl");
  write_text(root + "/WLASL_v0.3.json", R"([
 {"gloss": "book", "instances": [
   {"bbox": [1, 2, 3, 4], "fps": 25, "frame_end": 4, "frame_start": 2, "instance_id": 0,
    "signer_id": 1, "source": "x", "split": "train", "url": "u", "variation_id": 0,
    "video_id": "00001"},
   {"frame_end": -1, "frame_start": 1, "split": "test", "video_id": "00002"},
   {"frame_end": -1, "frame_start": 1, "split": "train", "video_id": "00003"}]},
 {"gloss": "drink", "instances": [
   {"frame_end": -1, "frame_start": 3, "split": "val", "video_id": "00004"},
   {"frame_end": 6, "frame_start": 1, "split": "train", "video_id": "00005"}]},
 {"gloss": "computer", "instances": [
   {"frame_end": -1, "frame_start": 1, "split": "train", "video_id": "00006"}]}
])");
  for (const std::string& id : videos) write_tiny_video(root + "/videos/" + id + ".mp4", 6);
  return root;
}

TEST(Wlasl, SplitsTopKAndMissingVideosCounted) {
  REQUIRE_VIDEO();
  TempDir dir("signet-formats");
  const std::string root = write_wlasl(dir, {"00001", "00002", "00004", "00005", "00006"});
  LabelledList train = read_wlasl(wlasl_layout(root), "train");
  EXPECT_EQ(train.class_names, (std::vector<std::string>{"book", "drink", "computer"}));
  EXPECT_EQ(names_of(train), (std::vector<std::string>{"00001.mp4", "00005.mp4", "00006.mp4"}));
  EXPECT_EQ(labels_of(train), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(train.skipped, 1);  // 00003 was never downloaded
  EXPECT_NE(train.skipped_notes[0].find("00003.mp4: missing"), std::string::npos);
  LabelledList top2 = read_wlasl(wlasl_layout(root, 2), "train");
  EXPECT_EQ(top2.class_names, (std::vector<std::string>{"book", "drink"}));
  EXPECT_EQ(labels_of(top2), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(labels_of(read_wlasl(wlasl_layout(root), "val")), (std::vector<int64_t>{1}));
  EXPECT_EQ(labels_of(read_wlasl(wlasl_layout(root), "test")), (std::vector<int64_t>{0}));
  expect_error([&] { read_wlasl(wlasl_layout(root, 4), "train"); },
               {"WLASL_v0.3.json", "top 4 glosses asked, the file has 3"});
  // frame_start / frame_end reach the decoder: [2, 4] is 3 frames, [3, -1] of 6 is 4, and the
  // first decoded frame of [2, 4] is frame 2 (grey 60).
  const LabelledVideo& book = train.samples[0];
  VideoReadOptions ro;
  ro.frame_start = book.frame_start;
  ro.frame_end = book.frame_end;
  Tensor frames = read_video(book.path, ro);
  EXPECT_EQ(frames.size(0), 3);
  EXPECT_NEAR(double(frames.data<uint8_t>()[0]), 60.0, 6.0);
  const LabelledList val_list = read_wlasl(wlasl_layout(root), "val");
  const LabelledVideo& val = val_list.samples[0];
  ro.frame_start = val.frame_start;
  ro.frame_end = val.frame_end;
  EXPECT_EQ(read_video(val.path, ro).size(0), 4);
}

TEST(Wlasl, MalformedEntriesNameGlossAndInstance) {
  TempDir dir("signet-formats");
  const std::string root = dir.file("w");
  write_text(root + "/WLASL_v0.3.json",
             R"([{"gloss": "a", "instances": []}, {"gloss": "b", "instances": [
                {"split": "train", "video_id": "1"}, {"split": "train"}]}])");
  expect_error([&] { read_wlasl(wlasl_layout(root), "train"); },
               {"WLASL_v0.3.json", "gloss 2, instance 2", "no video_id"});
  write_text(root + "/WLASL_v0.3.json",
             R"([{"gloss": "a", "instances": [
                {"split": "train", "video_id": "1", "frame_start": 5, "frame_end": 2}]}])");
  expect_error([&] { read_wlasl(wlasl_layout(root), "train"); },
               {"gloss 1, instance 1", "frame range [5, 2]"});
  write_text(root + "/WLASL_v0.3.json", R"([{"gloss": "a", "instances": [}])");
  expect_error([&] { read_wlasl(wlasl_layout(root), "train"); }, {"WLASL_v0.3.json"});
  expect_error([&] { read_wlasl(wlasl_layout(dir.file("nowhere")), "train"); },
               {"nowhere/WLASL_v0.3.json", "no such file"});
}

TEST(IsoGd, ListsRgbOrDepthLabelsZeroBased) {
  TempDir dir("signet-formats");
  const std::string root = dir.file("isogd");
  write_text(root + "/train_list.txt",
             "train/001/M_00001.avi train/001/K_00001.avi 10\n"
             "train/001/M_00002.avi train/001/K_00002.avi 249\n"
             "train/001/M_00003.avi train/001/K_00003.avi 1\n");
  for (const char* f : {"train/001/M_00001.avi", "train/001/K_00001.avi", "train/001/M_00002.avi",
                        "train/001/K_00002.avi", "train/001/K_00003.avi"})
    write_text(root + "/" + f, "x");
  IsoGdOptions o;
  o.root = root;
  LabelledList rgb = read_isogd_list(isogd_list_path(root, "train"), o);
  EXPECT_EQ(rgb.class_names.size(), 249u);
  EXPECT_EQ(labels_of(rgb), (std::vector<int64_t>{9, 248}));
  EXPECT_EQ(names_of(rgb), (std::vector<std::string>{"M_00001.avi", "M_00002.avi"}));
  EXPECT_EQ(rgb.skipped, 1);
  o.depth = true;
  LabelledList depth = read_isogd_list(isogd_list_path(root, "train"), o);
  EXPECT_EQ(names_of(depth),
            (std::vector<std::string>{"K_00001.avi", "K_00002.avi", "K_00003.avi"}));
  EXPECT_EQ(labels_of(depth), (std::vector<int64_t>{9, 248, 0}));
  EXPECT_EQ(isogd_list_path(root, "val"), root + "/valid_list.txt");
  write_text(root + "/valid_list.txt", "valid/001/M_00001.avi valid/001/K_00001.avi 250\n");
  expect_error([&] { read_isogd_list(isogd_list_path(root, "val"), o); },
               {"valid_list.txt:1:", "label 250 is out of range [1, 249]"});
  write_text(root + "/test_list.txt",
             "test/001/M_00001.avi test/001/K_00001.avi 3\ntest/001/M_00002.avi 4\n");
  expect_error([&] { read_isogd_list(isogd_list_path(root, "test"), o); },
               {"test_list.txt:2:", "3 fields"});
}

// A Jester copy: two classes, clip 1 with 3 PNG frames, clip 2 with 5, clip 3 missing, clip
// 4 an empty folder.
std::string write_jester(const TempDir& dir) {
  const std::string root = dir.file("jester");
  write_text(root + "/jester-v1-labels.csv", "Drumming Fingers\nSwiping Left\n");
  write_text(root + "/jester-v1-train.csv",
             "1;Swiping Left\n2;Drumming Fingers\n3;Swiping Left\n4;Swiping Left\n");
  fs::create_directories(root + "/20bn-jester-v1/4");
  for (int k = 1; k <= 3; ++k)
    write_png(root + "/20bn-jester-v1/1/0000" + std::to_string(k) + ".png", uint8_t(10 * k));
  for (int k = 1; k <= 5; ++k)
    write_png(root + "/20bn-jester-v1/2/0000" + std::to_string(k) + ".png", uint8_t(100 + k));
  return root;
}

TEST(Jester, SplitCsvAndFrameFoldersAsClips) {
  TempDir dir("signet-formats");
  REQUIRE_PNG();
  const std::string root = write_jester(dir);
  JesterLayout layout = jester_layout(root);
  std::vector<std::string> classes = read_jester_labels(layout.labels);
  EXPECT_EQ(classes, (std::vector<std::string>{"Drumming Fingers", "Swiping Left"}));
  LabelledList train = read_jester_split(layout.train, layout.frames, classes);
  EXPECT_EQ(labels_of(train), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(train.skipped, 2);  // folder 3 is missing, folder 4 empty
  ASSERT_EQ(train.skipped_notes.size(), 2u);
  EXPECT_NE(train.skipped_notes[0].find("3: missing"), std::string::npos);
  EXPECT_NE(train.skipped_notes[1].find("4: no frame in it"), std::string::npos);
  FrameFolderOptions fo;
  fo.frames = 4;
  FrameFolderDataset ds(train.samples, fo);
  ASSERT_EQ(ds.size(), 2);
  data::Sample s = ds.get(0);
  EXPECT_EQ(s.input.shape(), (Shape{4, 3, 8, 8}));
  EXPECT_EQ(s.label, 1);
  // 3 frames to 4 by the video rule (loop_reverse); the long clip sampled uniformly.
  const std::vector<int64_t> pick3 =
      sample_frame_indices(3, 4, FrameSampling::uniform, ShortClipPadding::loop_reverse);
  const std::vector<int64_t> pick5 =
      sample_frame_indices(5, 4, FrameSampling::uniform, ShortClipPadding::loop_reverse);
  const std::vector<float> v0 = s.input.to_vector<float>();
  const std::vector<float> v1 = ds.get(1).input.to_vector<float>();
  for (size_t t = 0; t < 4; ++t) {
    EXPECT_FLOAT_EQ(v0[t * 192 + 7], float(10 * (pick3[t] + 1)) / 255.0f) << t;
    EXPECT_FLOAT_EQ(v1[t * 192 + 100], float(100 + pick5[t] + 1) / 255.0f) << t;
  }
  // A frame range applies to the folder's frames as to a video's: [2, 3] of clip 2.
  std::vector<LabelledVideo> ranged = {{layout.frames + "/2", 0, 2, 3}};
  fo.frames = 2;
  fo.color = ColorMode::gray;
  const std::vector<float> r = FrameFolderDataset(ranged, fo).get(0).input.to_vector<float>();
  ASSERT_EQ(r.size(), 2u * 64u);
  EXPECT_FLOAT_EQ(r[0], 102.0f / 255.0f);
  EXPECT_FLOAT_EQ(r[64], 103.0f / 255.0f);
  std::vector<LabelledVideo> empty_set = {{root + "/nothing", 0}};
  expect_error([&] { FrameFolderDataset(empty_set, fo); }, {"no usable frame folder", "1 skipped"});
}

// Under ShortClipPadding::zeros a short frame folder ends in zero frames and reports its length;
// a long one reports the full length.
TEST(Jester, ZerosPaddingGivesZeroFramesAndTheLength) {
  TempDir dir("signet-formats");
  REQUIRE_PNG();
  const std::string root = write_jester(dir);
  const JesterLayout layout = jester_layout(root);
  FrameFolderOptions fo;
  fo.frames = 4;
  fo.pad = ShortClipPadding::zeros;
  FrameFolderDataset ds({{layout.frames + "/1", 0}, {layout.frames + "/2", 1}}, fo);
  const data::Sample short_clip = ds.get(0), long_clip = ds.get(1);
  EXPECT_EQ(short_clip.length, 3);
  EXPECT_EQ(long_clip.length, 4);
  const std::vector<float> v = short_clip.input.to_vector<float>();
  for (size_t t = 0; t < 3; ++t) EXPECT_FLOAT_EQ(v[t * 192 + 7], float(10 * (t + 1)) / 255.0f);
  for (size_t i = 3 * 192; i < v.size(); ++i) ASSERT_EQ(v[i], 0.0f) << i;
}

// A frame that cannot be decoded is replaced by its nearest good neighbour, warned about once
// and counted; a folder whose frames are all bad throws naming it.
TEST(Jester, BadFramesAreReplacedAndCounted) {
  TempDir dir("signet-formats");
  REQUIRE_PNG();
  const std::string root = dir.file("frames");
  for (int k = 1; k <= 4; ++k)
    ASSERT_TRUE(write_png(root + "/good/0000" + std::to_string(k) + ".png", uint8_t(10 * k)));
  write_text(root + "/good/00002.png", "truncated");
  write_text(root + "/bad/00001.png", "not a png");
  FrameFolderOptions fo;
  fo.frames = 4;
  fo.color = ColorMode::gray;
  FrameFolderDataset ds({{root + "/good", 0}, {root + "/bad", 1}}, fo);
  const std::vector<float> v = ds.get(0).input.to_vector<float>();
  ASSERT_EQ(v.size(), 4u * 64u);
  EXPECT_FLOAT_EQ(v[0], 10.0f / 255.0f);
  EXPECT_FLOAT_EQ(v[64], 30.0f / 255.0f);  // frame 2 is bad: frame 3 stands in
  EXPECT_FLOAT_EQ(v[128], 30.0f / 255.0f);
  EXPECT_FLOAT_EQ(v[192], 40.0f / 255.0f);
  ds.get(0);
  EXPECT_EQ(ds.bad_frames(), 1);
  expect_error([&] { ds.get(1); }, {"bad", "no frame"});
}

TEST(Jester, MalformedLinesAndUnknownClasses) {
  TempDir dir("signet-formats");
  const std::string root = dir.file("j");
  const std::vector<std::string> classes = {"Drumming Fingers", "Swiping Left"};
  write_text(root + "/a.csv", "1;Swiping Left\n2 Swiping Left\n");
  expect_error([&] { read_jester_split(root + "/a.csv", root, classes); },
               {"a.csv:2:", "id;Class Name"});
  write_text(root + "/b.csv", "1;Swiping Right\n");
  expect_error([&] { read_jester_split(root + "/b.csv", root, classes); },
               {"b.csv:1:", "'Swiping Right' is not one of the 2 classes"});
  write_text(root + "/labels.csv", "A\nB\nA\n");
  expect_error([&] { read_jester_labels(root + "/labels.csv"); }, {"labels.csv:3:", "twice"});
}

TEST(LabelledList, EmptyDataSetIsFatalWithCounts) {
  LabelledList list;
  note_skipped(&list, "/data/a.mp4", "missing");
  note_skipped(&list, "/data/b.mp4", "missing");
  expect_error([&] { require_samples(list, "WLASL train"); },
               {"WLASL train: no usable sample", "2 skipped", "/data/a.mp4: missing"});
  list.samples.push_back({"/data/c.mp4", 0});
  EXPECT_EQ(error_of([&] { require_samples(list, "WLASL train"); }), "");
}

TEST(LabelledList, StratifiedSplitIsPerClassSeededAndDisjoint) {
  std::vector<int64_t> labels;
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t k = 0; k < 10 * (c + 1); ++k) labels.push_back(c);
  labels.push_back(3);  // a class with one sample stays in train
  TrainValIndices a = stratified_split(labels, 0.2, 7);
  std::map<int64_t, int64_t> val_per_class;
  for (int64_t i : a.val) ++val_per_class[labels[size_t(i)]];
  EXPECT_EQ(val_per_class, (std::map<int64_t, int64_t>{{0, 2}, {1, 4}, {2, 6}}));
  EXPECT_EQ(a.train.size() + a.val.size(), labels.size());
  std::vector<int64_t> all = a.train;
  all.insert(all.end(), a.val.begin(), a.val.end());
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], int64_t(i));
  TrainValIndices again = stratified_split(labels, 0.2, 7);
  EXPECT_EQ(again.val, a.val);
  EXPECT_NE(stratified_split(labels, 0.2, 8).val, a.val);
  // Two samples of a class at a small fraction: one goes to validation, one stays.
  TrainValIndices pair = stratified_split({5, 5}, 0.1, 1);
  EXPECT_EQ(pair.val.size(), 1u);
  EXPECT_EQ(pair.train.size(), 1u);
  // Ten classes of two at 0.1: two validation samples in all, from two different classes.
  std::vector<int64_t> pairs;
  for (int64_t c = 0; c < 10; ++c) pairs.insert(pairs.end(), {c, c});
  TrainValIndices small = stratified_split(pairs, 0.1, 3);
  ASSERT_EQ(small.val.size(), 2u);
  EXPECT_NE(pairs[size_t(small.val[0])], pairs[size_t(small.val[1])]);
  EXPECT_EQ(stratified_split(pairs, 0.0, 3).val.size(), 0u);
  expect_error([] { stratified_split({0}, 1.0, 1); }, {"val_fraction"});
}

}  // namespace
