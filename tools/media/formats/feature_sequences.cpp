#include "tools/media/formats/feature_sequences.h"

#include <cstdio>
#include <cstring>

#include "engine/io/npy.h"
#include "tools/media/formats/folder_per_class.h"
#include "tools/media/video_reader.h"

namespace signet::media {
namespace {

// The rows of a contiguous f32 (T, F) tensor at `indices`.
Tensor take_rows(const Tensor& seq, const std::vector<int64_t>& indices) {
  const int64_t f = seq.size(1);
  Tensor out = empty({int64_t(indices.size()), f}, DType::f32);
  for (size_t i = 0; i < indices.size(); ++i)
    std::memcpy(out.data<float>() + int64_t(i) * f, seq.data<float>() + indices[i] * f,
                size_t(f) * sizeof(float));
  return out;
}

}  // namespace

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
      if (options.frames > 0)
        seq =
            take_rows(seq, sample_frame_indices(seq.size(0), options.frames, FrameSampling::uniform,
                                                ShortClipPadding::loop_reverse));
      features_ = seq.size(1);
      sequences_.push_back(seq);
      labels_.push_back(file.label);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "warning: skipping %s: %s\n", file.path.c_str(), e.what());
      ++skipped_;
    }
  }
  SIGNET_CHECK(!sequences_.empty(), "FeatureDataset: no usable sequence among ", files.size(),
               " files (", skipped_, " skipped)");
}

data::Sample FeatureDataset::get(int64_t i) const {
  return {sequences_[static_cast<size_t>(i)].clone(), labels_[static_cast<size_t>(i)]};
}

}  // namespace signet::media
