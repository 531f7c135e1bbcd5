// Feature sequences: one .npy file (T, F) per sample in a folder-per-class layout
// (root/<class>/<name>.npy), served as f32 (T, F) tensors for sequence models.
#pragma once
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "tools/media/formats/labelled_list.h"
#include "tools/media/video_reader.h"

namespace signet::media {

// The .npy files under root/<class>/ (read_folder_per_class with MediaKind::features).
LabelledList read_feature_folder(const std::string& root);

struct FeatureOptions {
  // Steps per sequence after sampling (uniform, short ones padded by `padding`, as clips are);
  // 0 keeps each file's length.
  int64_t frames = 0;
  // zeros pads with zero steps and serves each sample's real length (data::Sample::length).
  ShortClipPadding padding = ShortClipPadding::loop_reverse;
};

class FeatureDataset : public data::Dataset {
 public:
  // Reads every file now. A file that cannot be read, is not 2-D, or whose F differs from
  // the first usable file's is skipped with one warning and counted; none usable is an error.
  FeatureDataset(const std::vector<LabelledVideo>& files, const FeatureOptions& options);
  int64_t size() const override { return static_cast<int64_t>(sequences_.size()); }
  data::Sample get(int64_t i) const override;
  int64_t skipped() const { return skipped_; }
  // F, the features per step.
  int64_t features() const { return features_; }

 private:
  std::vector<Tensor> sequences_;  // f32 (T, F)
  std::vector<int64_t> labels_;
  std::vector<int64_t> lengths_;  // real steps of each sequence; -1: all
  int64_t features_ = 0;
  int64_t skipped_ = 0;
};

}  // namespace signet::media
