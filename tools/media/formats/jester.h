// 20BN-Jester (Materzynska et al. 2019): a labels CSV (`Drumming Fingers`, one class a line,
// index = line order), split CSVs (`34870;Drumming Fingers`, semicolon-separated) and each clip
// as a folder of JPEG frames <frames>/<id>/00001.jpg, 00002.jpg, ...; FrameFolderDataset reads
// such a folder as a clip.
#pragma once
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "tools/media/formats/image_dataset.h"
#include "tools/media/formats/labelled_list.h"
#include "tools/media/video_reader.h"

namespace signet::media {

// Where a Jester copy lies.
struct JesterLayout {
  std::string labels;  // jester-v1-labels.csv
  std::string train;   // jester-v1-train.csv
  std::string val;     // jester-v1-validation.csv
  std::string frames;  // the folder of <id>/ frame folders
};

// The layout of root: the three CSVs in root, frames in root/20bn-jester-v1 when it exists
// (else root).
JesterLayout jester_layout(const std::string& root);

// The class names of a labels CSV, in line order; a repeated name is a line error.
std::vector<std::string> read_jester_labels(const std::string& path);

// A split CSV of `id;Class Name` lines; samples are the frame folders frames/<id>. A folder
// that is missing or holds no image is skipped and counted; an unknown class name or a line
// without ';' is a line error.
LabelledList read_jester_split(const std::string& path, const std::string& frames,
                               const std::vector<std::string>& class_names);

struct FrameFolderOptions {
  int64_t frames = 16;  // T after sampling (uniform over the folder's frames)
  ShortClipPadding pad = ShortClipPadding::loop_reverse;
  int size = 0;  // frames resized to size x size (0 keeps the source size)
  ColorMode color = ColorMode::rgb;
};

// Frame folders (sorted PNG/JPEG/BMP files) served as float clips (T, C, H, W) in [0, 1];
// frames are chosen by sample_frame_indices and decoded on each get(), so only T frames of a
// clip are ever read. The folders are listed at construction: empty or missing ones are
// skipped with one warning each and counted; none usable is an error.
class FrameFolderDataset : public data::Dataset {
 public:
  FrameFolderDataset(const std::vector<LabelledVideo>& folders, const FrameFolderOptions& options);
  int64_t size() const override { return static_cast<int64_t>(folders_.size()); }
  // A sampled frame that cannot be decoded (or has another size than the clip's first) is
  // replaced by the nearest good frame of the range, with one warning per file, counted; only a
  // range with no good frame at all throws signet::Error naming the folder.
  data::Sample get(int64_t i) const override;
  int64_t skipped() const { return skipped_; }
  // Frame files replaced so far because they could not be used.
  int64_t bad_frames() const { return bad_frames_.load(); }

 private:
  // The frame in file, or an undefined tensor (warned once, counted) when it cannot be decoded.
  Tensor frame_or_none(const std::string& file, const ImageOptions& io) const;
  // Prints one warning for file (the first time only) and counts it.
  void warn_once(const std::string& file, const std::string& reason) const;

  std::vector<LabelledVideo> folders_;
  FrameFolderOptions options_;
  int64_t skipped_ = 0;
  mutable std::mutex warned_mutex_;
  mutable std::set<std::string> warned_;
  mutable std::atomic<int64_t> bad_frames_{0};
};

// True when folder holds at least one image file (stops at the first).
bool has_frames(const std::string& folder);

// The sorted image files (.png .jpg .jpeg .bmp, not hidden) of a folder; none when it does
// not exist.
std::vector<std::string> frame_files(const std::string& folder);

}  // namespace signet::media
