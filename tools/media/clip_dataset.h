// ClipDataset: labelled video files decoded once into memory and served as float clips
// (T, C, H, W) in [0, 1], sampled to T frames (under zeros padding a short clip's sample
// reports its real frames as data::Sample::length). With a cache path the decoded u8 clips are
// kept on disk (tools/media/clip_cache.h) and a later run reads them instead of decoding.
// Unreadable, truncated, empty or frameless files are skipped with one warning each (naming
// the file and the reason), counted and summarised; no usable clip is an error.
#pragma once
#include <string>
#include <vector>

#include "engine/data/dataset.h"
#include "tools/media/skipped_files.h"
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
  // Decode-time sampling: uniform only (a clip is decoded once; training's random segment is
  // data::TemporalJitter on the decoded clip, which may be decoded longer than the model's T).
  FrameSampling sampling = FrameSampling::uniform;
  // Short clips: zeros pads with zero frames and sets Sample::length; the others report -1.
  ShortClipPadding padding = ShortClipPadding::loop_reverse;
  // Decoded-clip cache file ("" = none). One file per list of videos (one per split).
  std::string cache_path;
  int threads = 2;  // decoding threads
};

class ClipDataset : public data::Dataset {
 public:
  // Reads the cache, decodes every file it lacks (in `threads` threads), rewrites the cache
  // when anything changed; warnings and the skip summary go to stderr.
  ClipDataset(const std::vector<LabelledVideo>& videos, const ClipOptions& options);
  int64_t size() const override { return static_cast<int64_t>(clips_.size()); }
  data::Sample get(int64_t i) const override;
  // Number of files skipped because they could not be decoded.
  int64_t skipped() const { return static_cast<int64_t>(skipped_files_.size()); }
  // The skipped files and the reasons, in list order.
  const std::vector<SkippedFile>& skipped_files() const { return skipped_files_; }
  // Number of files listed (usable and skipped).
  int64_t files() const { return files_; }
  // Files decoded by this constructor (0 when the cache held every one).
  int64_t decoded() const { return decoded_; }
  // The file of sample i.
  const std::string& path(int64_t i) const { return paths_[static_cast<size_t>(i)]; }

 private:
  std::vector<Tensor> clips_;     // u8 (T, H, W, C)
  std::vector<int64_t> lengths_;  // Sample::length of each clip
  std::vector<int64_t> labels_;
  std::vector<std::string> paths_;
  std::vector<SkippedFile> skipped_files_;
  int64_t files_ = 0;
  int64_t decoded_ = 0;
};

// A decoded clip (T, H, W, C) u8 as the float (T, C, H, W) in [0, 1] that models take.
Tensor clip_to_float(const Tensor& clip);

}  // namespace signet::media
