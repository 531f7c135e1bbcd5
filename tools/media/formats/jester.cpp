#include "tools/media/formats/jester.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "engine/error.h"
#include "tools/media/formats/folder_per_class.h"
#include "tools/media/formats/image_dataset.h"

namespace signet::media {

namespace fs = std::filesystem;

JesterLayout jester_layout(const std::string& root) {
  JesterLayout l;
  l.labels = root + "/jester-v1-labels.csv";
  l.train = root + "/jester-v1-train.csv";
  l.val = root + "/jester-v1-validation.csv";
  l.frames = fs::is_directory(root + "/20bn-jester-v1") ? root + "/20bn-jester-v1" : root;
  return l;
}

std::vector<std::string> read_jester_labels(const std::string& path) {
  std::vector<std::string> names;
  for (const NumberedLine& line : read_list_lines(path)) {
    if (std::find(names.begin(), names.end(), line.text) != names.end())
      line_error(path, line.number, "class '" + line.text + "' is listed twice");
    names.push_back(line.text);
  }
  SIGNET_CHECK(!names.empty(), path, ": no class in it");
  return names;
}

std::vector<std::string> frame_files(const std::string& folder) {
  std::vector<std::string> files;
  if (!fs::is_directory(folder)) return files;
  for (auto& e : fs::directory_iterator(folder)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name[0] != '.' &&
        has_media_extension(e.path().string(), MediaKind::image))
      files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool has_frames(const std::string& folder) {
  if (!fs::is_directory(folder)) return false;
  for (auto& e : fs::directory_iterator(folder))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.' &&
        has_media_extension(e.path().string(), MediaKind::image))
      return true;
  return false;
}

LabelledList read_jester_split(const std::string& path, const std::string& frames,
                               const std::vector<std::string>& class_names) {
  std::map<std::string, int64_t> index;
  for (size_t c = 0; c < class_names.size(); ++c) index[class_names[c]] = int64_t(c);
  LabelledList list;
  list.class_names = class_names;
  for (const NumberedLine& line : read_list_lines(path)) {
    size_t semi = line.text.find(';');
    if (semi == std::string::npos || semi == 0 || semi + 1 == line.text.size())
      line_error(path, line.number, "expected `id;Class Name`");
    std::string id = line.text.substr(0, semi), name = line.text.substr(semi + 1);
    auto it = index.find(name);
    if (it == index.end())
      line_error(path, line.number,
                 "class '" + name + "' is not one of the " + std::to_string(class_names.size()) +
                     " classes of the labels file");
    std::string folder = frames + "/" + id;
    if (!has_frames(folder)) {
      note_skipped(&list, folder, fs::is_directory(folder) ? "no frame in it" : "missing");
      continue;
    }
    list.samples.push_back({folder, it->second});
  }
  return list;
}

FrameFolderDataset::FrameFolderDataset(const std::vector<LabelledVideo>& folders,
                                       const FrameFolderOptions& options)
    : options_(options) {
  SIGNET_CHECK(options.frames >= 1, "FrameFolderDataset: frames must be >= 1, got ",
               options.frames);
  for (const LabelledVideo& f : folders) {
    if (!has_frames(f.path)) {
      std::fprintf(stderr, "warning: skipping %s: no frame image in it\n", f.path.c_str());
      ++skipped_;
      continue;
    }
    folders_.push_back(f);
  }
  SIGNET_CHECK(!folders_.empty(), "FrameFolderDataset: no usable frame folder among ",
               folders.size(), " (", skipped_, " skipped)");
}

Tensor FrameFolderDataset::frame_or_none(const std::string& file, const ImageOptions& io) const {
  try {
    return read_image_tensor(file, io);
  } catch (const std::exception& e) {
    warn_once(file, e.what());
    return Tensor();
  }
}

void FrameFolderDataset::warn_once(const std::string& file, const std::string& reason) const {
  std::lock_guard<std::mutex> lock(warned_mutex_);
  if (!warned_.insert(file).second) return;
  ++bad_frames_;
  std::fprintf(stderr, "warning: frame %s replaced by its nearest good neighbour: %s\n",
               file.c_str(), reason.c_str());
}

data::Sample FrameFolderDataset::get(int64_t i) const {
  const LabelledVideo& f = folders_[static_cast<size_t>(i)];
  std::vector<std::string> files = frame_files(f.path);
  SIGNET_CHECK(!files.empty(), f.path, ": no frame image in it");
  // The frame range (1-based, -1 = to the end) applies to the folder's frames as to a video's.
  const int64_t count = int64_t(files.size());
  const int64_t first = f.frame_start - 1;
  const int64_t last = f.frame_end == -1 ? count - 1 : std::min(f.frame_end, count) - 1;
  SIGNET_CHECK(first >= 0 && first <= last, f.path, ": frame range [", f.frame_start, ", ",
               f.frame_end, "] selects none of its ", count, " frames");
  std::vector<int64_t> pick =
      sample_frame_indices(last - first + 1, options_.frames, FrameSampling::uniform, options_.pad);
  ImageOptions io;
  io.size = options_.size;
  io.channels = options_.color == ColorMode::gray ? 1 : 3;
  const int64_t span = last - first + 1;
  Tensor clip;
  std::map<int64_t, Tensor> decoded;  // frame index in the range -> frame (undefined: bad)
  auto frame_at = [&](int64_t k) -> const Tensor& {
    auto it = decoded.find(k);
    if (it == decoded.end()) {
      Tensor fr = frame_or_none(files[size_t(first + k)], io);
      if (fr.defined() && clip.defined() &&
          fr.shape() != Shape({clip.size(1), clip.size(2), clip.size(3)})) {
        warn_once(files[size_t(first + k)],
                  "frame is " + shape_str(fr.shape()) + ", earlier frames of the folder are " +
                      shape_str({clip.size(1), clip.size(2), clip.size(3)}));
        fr = Tensor();
      }
      it = decoded.emplace(k, fr).first;
    }
    return it->second;
  };
  for (size_t t = 0; t < pick.size(); ++t) {
    if (pick[t] < 0) {  // a padding step of ShortClipPadding::zeros (never the first step)
      std::memset(clip.data<uint8_t>() + int64_t(t) * clip.numel() / clip.size(0), 0,
                  size_t(clip.numel() / clip.size(0)));
      continue;
    }
    // The sampled frame, else the nearest good one (later first at equal distance).
    const Tensor* frame = nullptr;
    for (int64_t d = 0; d < span && frame == nullptr; ++d) {
      for (int64_t k : {pick[t] + d, pick[t] - d}) {
        if (k < 0 || k >= span || frame != nullptr) continue;
        if (frame_at(k).defined()) frame = &frame_at(k);
      }
    }
    SIGNET_CHECK(frame != nullptr, f.path, ": no frame of [", f.frame_start, ", ", f.frame_end,
                 "] can be decoded");
    if (!clip.defined())
      clip =
          empty({int64_t(pick.size()), frame->size(0), frame->size(1), frame->size(2)}, DType::u8);
    std::memcpy(clip.data<uint8_t>() + int64_t(t) * frame->numel(), frame->data<uint8_t>(),
                size_t(frame->numel()));
  }
  data::Sample sample{clip_to_float(clip), f.label};
  if (options_.pad == ShortClipPadding::zeros)
    sample.length = sampled_length(span, options_.frames, options_.pad);
  return sample;
}

}  // namespace signet::media
