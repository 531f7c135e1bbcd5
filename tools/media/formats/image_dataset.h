// Labelled image files (PNG, JPEG, BMP) decoded once into memory and served as float images
// (C, H, W) in [0, 1]. Unreadable files (and, without resizing, images of
// another size than the first) are skipped with one warning each and a summary; no
// usable image is an error.
#pragma once
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "tools/media/clip_dataset.h"
#include "tools/media/skipped_files.h"

namespace signet::media {

struct ImageOptions {
  int size = 0;      // images resized to size x size (0 keeps the source size)
  int channels = 3;  // 3 RGB, 1 grey
};

class ImageDataset : public data::Dataset {
 public:
  // Decodes every file now (path and label of each; frame ranges are ignored).
  ImageDataset(const std::vector<LabelledVideo>& files, const ImageOptions& options);
  int64_t size() const override { return static_cast<int64_t>(images_.size()); }
  data::Sample get(int64_t i) const override;
  // Files skipped because they could not be decoded.
  int64_t skipped() const { return static_cast<int64_t>(skipped_.size()); }
  // The files skipped and why.
  const std::vector<SkippedFile>& skipped_files() const { return skipped_; }

 private:
  std::vector<Tensor> images_;  // u8 (H, W, C)
  std::vector<int64_t> labels_;
  std::vector<SkippedFile> skipped_;
};

// The image at path as u8 (H, W, C), resized to size x size unless size is 0.
Tensor read_image_tensor(const std::string& path, const ImageOptions& options);

}  // namespace signet::media
