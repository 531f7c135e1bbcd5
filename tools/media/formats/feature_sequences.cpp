#include "tools/media/formats/feature_sequences.h"

#include <cstdio>

#include "engine/io/npy.h"
#include "tools/media/formats/folder_per_class.h"

namespace signet::media {

LabelledList read_feature_folder(const std::string& root) {
  return read_folder_per_class(root, MediaKind::features);
}

FeatureDataset::FeatureDataset(const std::vector<LabelledVideo>& files,
                               const FeatureOptions& options) {
  SIGNET_CHECK(options.frames >= 0, "FeatureDataset: frames must be >= 0, got ", options.frames);
  for (const LabelledVideo& file : files) {
    try {
      Tensor seq = io::read_npy(file.path);
      SIGNET_CHECK(seq.dim() == 2 && seq.size(0) > 0 && seq.size(1) > 0,
                   "expected a (T, F) array with T, F > 0, got ", shape_str(seq.shape()));
      SIGNET_CHECK(features_ == 0 || seq.size(1) == features_, "has F = ", seq.size(1),
                   " but the first sequence has F = ", features_);
      seq = seq.to(DType::f32).contiguous();
      int64_t length = -1;
      if (options.frames > 0) {
        length = sampled_length(seq.size(0), options.frames, options.padding);
        seq = take_frames(seq, sample_frame_indices(seq.size(0), options.frames,
                                                    FrameSampling::uniform, options.padding));
      }
      features_ = seq.size(1);
      sequences_.push_back(seq);
      labels_.push_back(file.label);
      lengths_.push_back(length);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "warning: skipping %s: %s\n", file.path.c_str(), e.what());
      ++skipped_;
    }
  }
  SIGNET_CHECK(!sequences_.empty(), "FeatureDataset: no usable sequence among ", files.size(),
               " files (", skipped_, " skipped)");
}

data::Sample FeatureDataset::get(int64_t i) const {
  const size_t k = static_cast<size_t>(i);
  return {sequences_[k].clone(), labels_[k], lengths_[k]};
}

}  // namespace signet::media
