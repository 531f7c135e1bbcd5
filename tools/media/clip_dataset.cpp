#include "tools/media/clip_dataset.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "engine/ops/elementwise.h"

namespace signet::media {

Tensor clip_to_float(const Tensor& clip) {
  SIGNET_CHECK(clip.dim() == 4 && clip.dtype() == DType::u8,
               "clip_to_float: expects a u8 clip (T, H, W, C), got ", dtype_name(clip.dtype()), " ",
               shape_str(clip.shape()));
  return clip.permute({0, 3, 1, 2}).to(DType::f32) * (1.0 / 255.0);
}

ClipDataset::ClipDataset(const std::vector<LabelledVideo>& videos, const ClipOptions& options) {
  std::vector<Tensor> decoded(videos.size());
  std::vector<std::string> errors(videos.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < videos.size(); i = next++) {
      try {
        VideoReadOptions ro;
        ro.frame_start = videos[i].frame_start;
        ro.frame_end = videos[i].frame_end;
        ro.color = options.color;
        ro.width = ro.height = options.size;
        Tensor all = read_video(videos[i].path, ro);
        decoded[i] = take_frames(
            all, sample_frame_indices(all.size(0), options.frames, FrameSampling::uniform,
                                      ShortClipPadding::loop_reverse));
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, options.threads); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  for (size_t i = 0; i < videos.size(); ++i) {
    if (!errors[i].empty()) {
      std::fprintf(stderr, "warning: skipping %s: %s\n", videos[i].path.c_str(), errors[i].c_str());
      ++skipped_;
      continue;
    }
    clips_.push_back(decoded[i]);
    labels_.push_back(videos[i].label);
    paths_.push_back(videos[i].path);
  }
  SIGNET_CHECK(!clips_.empty(), "ClipDataset: no usable clip among ", videos.size(), " files (",
               skipped_, " skipped)");
}

data::Sample ClipDataset::get(int64_t i) const {
  return {clip_to_float(clips_[static_cast<size_t>(i)]), labels_[static_cast<size_t>(i)]};
}

}  // namespace signet::media
