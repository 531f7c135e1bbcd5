#include "tools/media/formats/folder_per_class.h"

#include <algorithm>
#include <filesystem>

#include "engine/error.h"

namespace signet::media {
namespace {

namespace fs = std::filesystem;

// True for names starting with '.' (hidden on Unix, macOS metadata such as .DS_Store).
bool hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

// The sorted, non-hidden class folders of root.
std::vector<std::string> class_folders(const std::string& root) {
  SIGNET_CHECK(fs::is_directory(root), root, ": not a folder");
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(root))
    if (e.is_directory() && !hidden(e.path())) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  SIGNET_CHECK(!names.empty(), root, ": no class folder in it (expected root/<class>/<file>)");
  return names;
}

}  // namespace

bool has_media_extension(const std::string& path, MediaKind kind) {
  static const std::vector<std::string> video = {".mp4",  ".avi", ".mkv", ".mov", ".webm", ".mpg",
                                                 ".mpeg", ".m4v", ".wmv", ".flv", ".ogv"};
  static const std::vector<std::string> image = {".png", ".jpg", ".jpeg", ".bmp"};
  static const std::vector<std::string> features = {".npy"};
  const std::vector<std::string>& known = kind == MediaKind::video   ? video
                                          : kind == MediaKind::image ? image
                                                                     : features;
  const std::string ext = lower_ascii(fs::path(path).extension().string());
  return std::find(known.begin(), known.end(), ext) != known.end();
}

MediaKind detect_media_kind(const std::string& root) {
  int64_t videos = 0, images = 0;
  for (const std::string& name : class_folders(root))
    for (auto& e : fs::directory_iterator(fs::path(root) / name)) {
      if (!e.is_regular_file() || hidden(e.path())) continue;
      videos += has_media_extension(e.path().string(), MediaKind::video);
      images += has_media_extension(e.path().string(), MediaKind::image);
    }
  SIGNET_CHECK(videos > 0 || images > 0, root, ": no video or image file in its class folders");
  SIGNET_CHECK(videos == 0 || images == 0, root, ": holds both videos (", videos, ") and images (",
               images, "); keep one kind per data set");
  return videos > 0 ? MediaKind::video : MediaKind::image;
}

LabelledList read_folder_per_class(const std::string& root, MediaKind kind) {
  LabelledList list;
  list.class_names = class_folders(root);
  for (size_t c = 0; c < list.class_names.size(); ++c) {
    std::vector<std::string> files;
    for (auto& e : fs::directory_iterator(fs::path(root) / list.class_names[c])) {
      if (hidden(e.path())) continue;
      if (e.is_regular_file() && has_media_extension(e.path().string(), kind))
        files.push_back(e.path().string());
      else
        note_skipped(&list, e.path().string(), "not a file of the kind read");
    }
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) list.samples.push_back({f, int64_t(c)});
  }
  return list;
}

}  // namespace signet::media
