#include "tools/media/clip_dataset.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <thread>
#include <tuple>

#include "engine/ops/elementwise.h"
#include "tools/media/clip_cache.h"

namespace signet::media {

namespace {

// A cached entry is found by the file and the frame range it was decoded from.
using EntryKey = std::tuple<std::string, int64_t, int64_t>;

// Decodes one video to its sampled u8 clip and its real length; the error message when it cannot.
void decode_entry(const LabelledVideo& video, const ClipOptions& options, ClipCacheEntry* entry) {
  try {
    VideoReadOptions ro;
    ro.frame_start = video.frame_start;
    ro.frame_end = video.frame_end;
    ro.color = options.color;
    ro.width = ro.height = options.size;
    Tensor all = read_video(video.path, ro);
    entry->clip = take_frames(
        all, sample_frame_indices(all.size(0), options.frames, options.sampling, options.padding));
    entry->length = sampled_length(all.size(0), options.frames, options.padding);
  } catch (const std::exception& e) {
    entry->error = e.what();
    entry->clip = Tensor();
  }
}

// Fills entries from a usable cache where the source is unchanged; true for each one filled.
std::vector<char> fill_from_cache(const std::vector<LabelledVideo>& videos,
                                  const std::vector<ClipCacheEntry>& cached,
                                  std::vector<ClipCacheEntry>* entries) {
  std::map<EntryKey, const ClipCacheEntry*> by_key;
  for (const ClipCacheEntry& e : cached) by_key[{e.path, e.frame_start, e.frame_end}] = &e;
  std::vector<char> filled(videos.size(), 0);
  for (size_t i = 0; i < videos.size(); ++i) {
    auto it = by_key.find({videos[i].path, videos[i].frame_start, videos[i].frame_end});
    ClipCacheEntry& e = (*entries)[i];
    // A file that cannot be inspected (missing) has the zero stamp: its cached error is reused
    // until it appears.
    if (!file_stamp(videos[i].path, &e.stamp)) e.stamp = FileStamp();
    if (it == by_key.end() || e.stamp.size != it->second->stamp.size ||
        e.stamp.mtime_ns != it->second->stamp.mtime_ns)
      continue;
    e.clip = it->second->clip;
    e.length = it->second->length;
    e.error = it->second->error;
    filled[i] = 1;
  }
  return filled;
}

}  // namespace

Tensor clip_to_float(const Tensor& clip) {
  SIGNET_CHECK(clip.dim() == 4 && clip.dtype() == DType::u8,
               "clip_to_float: expects a u8 clip (T, H, W, C), got ", dtype_name(clip.dtype()), " ",
               shape_str(clip.shape()));
  return clip.permute({0, 3, 1, 2}).to(DType::f32) * (1.0 / 255.0);
}

ClipDataset::ClipDataset(const std::vector<LabelledVideo>& videos, const ClipOptions& options)
    : files_(static_cast<int64_t>(videos.size())) {
  SIGNET_CHECK(options.frames > 0, "ClipDataset: frames must be positive, got ", options.frames);
  SIGNET_CHECK(options.sampling == FrameSampling::uniform,
               "ClipDataset: decode-time sampling must be uniform, got ",
               frame_sampling_name(options.sampling),
               " (a random segment per epoch is data::TemporalJitter on the decoded clip)");
  const ClipCacheSettings settings{options.size, options.frames, options.color, options.sampling,
                                   options.padding};
  std::vector<ClipCacheEntry> entries(videos.size());
  for (size_t i = 0; i < videos.size(); ++i) {
    entries[i].path = videos[i].path;
    entries[i].frame_start = videos[i].frame_start;
    entries[i].frame_end = videos[i].frame_end;
    entries[i].label = videos[i].label;
  }
  std::vector<char> filled(videos.size(), 0);
  bool rewrite = !options.cache_path.empty();
  if (!options.cache_path.empty()) {
    const ClipCacheContents cache = read_clip_cache(options.cache_path, settings);
    if (!cache.usable && !cache.reason.empty())
      std::fprintf(stderr, "warning: clip cache %s: %s; rebuilding it\n",
                   options.cache_path.c_str(), cache.reason.c_str());
    if (cache.usable) filled = fill_from_cache(videos, cache.entries, &entries);
    rewrite = !cache.usable || cache.entries.size() != videos.size() ||
              std::count(filled.begin(), filled.end(), 0) > 0;
  }
  std::atomic<size_t> next{0};
  std::atomic<int64_t> decoded{0};
  auto work = [&] {
    for (size_t i = next++; i < videos.size(); i = next++) {
      if (filled[i]) continue;
      if (!file_stamp(videos[i].path, &entries[i].stamp)) entries[i].stamp = FileStamp();
      decode_entry(videos[i], options, &entries[i]);
      ++decoded;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, options.threads); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  decoded_ = decoded;
  if (rewrite) {
    try {
      write_clip_cache(options.cache_path, settings, entries);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "warning: clip cache not written: %s\n", e.what());
    }
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!entries[i].error.empty()) {
      skipped_files_.push_back({videos[i].path, entries[i].error});
      continue;
    }
    clips_.push_back(entries[i].clip);
    lengths_.push_back(entries[i].length);
    labels_.push_back(videos[i].label);
    paths_.push_back(videos[i].path);
  }
  report_skipped("ClipDataset", skipped_files_, videos.size());
  SIGNET_CHECK(!clips_.empty(), "ClipDataset: no usable clip among ", videos.size(), " files (",
               skipped(), " skipped)");
}

data::Sample ClipDataset::get(int64_t i) const {
  return {clip_to_float(clips_[static_cast<size_t>(i)]), labels_[static_cast<size_t>(i)],
          lengths_[static_cast<size_t>(i)]};
}

}  // namespace signet::media
