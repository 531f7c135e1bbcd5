// The data sources of train, eval and prep: a .npy folder (as `signet prep` writes it), the
// Sign-Language-MNIST CSV files (as `signet data mnist` writes them) or a video folder
// (split/class/file, as `signet synth` writes it), turned into train/val/test data sets.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "tools/media/clip_dataset.h"

namespace signet::cli {

// The samples of a base data set at the given indices (a validation part carved from train).
class Subset : public data::Dataset {
 public:
  Subset(std::shared_ptr<const data::Dataset> base, std::vector<int64_t> indices)
      : base_(std::move(base)), indices_(std::move(indices)) {}
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  data::Sample get(int64_t i) const override {
    return base_->get(indices_[static_cast<size_t>(i)]);
  }

 private:
  std::shared_ptr<const data::Dataset> base_;
  std::vector<int64_t> indices_;
};

// A data set whose u8 inputs become f32 in [0, 1] (other dtypes become f32 unchanged).
class UnitFloat : public data::Dataset {
 public:
  explicit UnitFloat(std::shared_ptr<const data::Dataset> base) : base_(std::move(base)) {}
  int64_t size() const override { return base_->size(); }
  data::Sample get(int64_t i) const override;

 private:
  std::shared_ptr<const data::Dataset> base_;
};

// How a data source is read.
struct DataOptions {
  std::string path;
  // auto, npy, mnist, video, folder, features, ucf101, wlasl, isogd, jester; "ucf101:N" reads
  // split N (1..3), "wlasl:K" or "wlaslK" the first K glosses (WLASL100).
  std::string format = "auto";
  int64_t frames = 16;        // clips, frame folders, feature sequences: steps per sample
  int64_t size = 32;          // videos, images, frame folders: side in pixels
  double val_fraction = 0.1;  // carved from train (seeded) when there is no val split
  uint64_t seed = 1;
  // Videos: folder of decoded-clip caches, one file per format and split ("" decodes every run).
  std::string cache_dir;
  // Videos: how clips shorter than `frames` are filled (zeros: the samples carry their length).
  media::ShortClipPadding padding = media::ShortClipPadding::loop_reverse;
};

// The splits of a source; val and test may be null when the source has none.
struct Splits {
  std::string format;  // the format found
  std::shared_ptr<const data::Dataset> train, val, test;
  std::vector<std::string> class_names;  // may be empty
  int64_t classes = 0;                   // max label + 1 over the splits read, or the names
  Shape sample_shape;                    // one input (f32)
};

// Prints, at the end of a run, how many frame files the frame-folder splits of s replaced
// because they could not be decoded (nothing when none did).
void report_bad_frames(const Splits& s);

// The format of path ("npy", "mnist", "video", "folder", "features", "ucf101", "wlasl", "isogd",
// "jester"); a UsageError for `command` when none fits.
std::string detect_format(const std::string& command, const std::string& path);
// Reads the splits named in `want` ("train", "val", "test"); each is required, except that
// with train wanted the others are optional and a missing val split is carved from train.
Splits load_splits(const std::string& command, const DataOptions& options,
                   const std::vector<std::string>& want);
// The labelled videos of dir/split/<class>/* with classes in sorted folder order.
std::vector<media::LabelledVideo> video_split(const std::string& dir, const std::string& split,
                                              std::vector<std::string>* class_names);

}  // namespace signet::cli
