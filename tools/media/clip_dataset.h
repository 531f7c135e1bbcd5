// ClipDataset: labelled video files decoded once into memory and served as float clips
// (T, C, H, W) in [0, 1], sampled uniformly to T frames. Unreadable files are skipped with one
// warning each (naming the file and the reason) and counted; no usable clip is an error.
#pragma once
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "tools/media/video_reader.h"

namespace signet::media {

// One labelled video file.
struct LabelledVideo {
  std::string path;
  int64_t label = 0;
  int64_t frame_start = 1;  // 1-based first frame (WLASL's frame_start)
  int64_t frame_end = -1;   // 1-based last frame, -1 = to the end
};

struct ClipOptions {
  int64_t frames = 16;  // T after sampling
  int size = 0;         // frames resized to size x size (0 keeps the source size)
  ColorMode color = ColorMode::rgb;
  int threads = 2;  // decoding threads
};

class ClipDataset : public data::Dataset {
 public:
  // Decodes every file now (in `threads` threads); warnings go to stderr.
  ClipDataset(const std::vector<LabelledVideo>& videos, const ClipOptions& options);
  int64_t size() const override { return static_cast<int64_t>(clips_.size()); }
  data::Sample get(int64_t i) const override;
  // Files skipped because they could not be decoded.
  int64_t skipped() const { return skipped_; }
  // The file of sample i.
  const std::string& path(int64_t i) const { return paths_[static_cast<size_t>(i)]; }

 private:
  std::vector<Tensor> clips_;  // u8 (T, H, W, C)
  std::vector<int64_t> labels_;
  std::vector<std::string> paths_;
  int64_t skipped_ = 0;
};

// A decoded clip (T, H, W, C) u8 as the float (T, C, H, W) in [0, 1] that models take.
Tensor clip_to_float(const Tensor& clip);

}  // namespace signet::media
