#include "tools/media/formats/ucf101.h"

#include <filesystem>
#include <map>

#include "engine/error.h"

namespace signet::media {

namespace fs = std::filesystem;

namespace {

// Lower-case name -> name of the entries of folders, listed once each.
using FolderIndex = std::map<std::string, std::map<std::string, std::string>>;

// The entry of folder whose name matches name case-insensitively, or "".
std::string match_entry(const std::string& folder, const std::string& name, FolderIndex* index) {
  auto it = index->find(folder);
  if (it == index->end()) {
    std::map<std::string, std::string> entries;
    if (fs::is_directory(folder))
      for (auto& e : fs::directory_iterator(folder))
        entries[lower_ascii(e.path().filename().string())] = e.path().filename().string();
    it = index->emplace(folder, std::move(entries)).first;
  }
  auto e = it->second.find(lower_ascii(name));
  return e == it->second.end() ? std::string() : e->second;
}

// root/rel when it exists, else the file whose folder and name match rel's case-insensitively
// (the lists and the archive spell some names differently); "" when none does.
std::string find_video(const std::string& root, const std::string& rel, FolderIndex* index) {
  const std::string exact = root + "/" + rel;
  if (fs::is_regular_file(exact)) return exact;
  const size_t slash = rel.find('/');
  if (slash == std::string::npos) return std::string();
  const std::string folder = match_entry(root, rel.substr(0, slash), index);
  if (folder.empty()) return std::string();
  const std::string file = match_entry(root + "/" + folder, rel.substr(slash + 1), index);
  return file.empty() ? std::string() : root + "/" + folder + "/" + file;
}

}  // namespace

Ucf101Layout ucf101_layout(const std::string& root, int split) {
  Ucf101Layout layout;
  layout.lists = fs::is_directory(root + "/ucfTrainTestlist") ? root + "/ucfTrainTestlist" : root;
  layout.videos = fs::is_directory(root + "/UCF-101") ? root + "/UCF-101" : root;
  layout.split = split;
  return layout;
}

std::vector<std::string> read_ucf101_classes(const std::string& path) {
  std::vector<std::string> names;
  for (const NumberedLine& line : read_list_lines(path)) {
    std::vector<std::string> f = split_fields(line.text);
    if (f.size() != 2) line_error(path, line.number, "expected `index ClassName`");
    int64_t index = parse_label(path, line.number, f[0], 1, int64_t(names.size()) + 1);
    if (index != int64_t(names.size()) + 1)
      line_error(path, line.number, "index " + f[0] + " repeats an earlier class");
    names.push_back(f[1]);
  }
  SIGNET_CHECK(!names.empty(), path, ": no class in it");
  return names;
}

LabelledList read_ucf101_list(const std::string& path, const std::string& videos_root,
                              const std::vector<std::string>& class_names, bool labelled) {
  std::map<std::string, int64_t> by_lower;
  for (size_t c = 0; c < class_names.size(); ++c)
    by_lower[lower_ascii(class_names[c])] = int64_t(c);
  LabelledList list;
  list.class_names = class_names;
  FolderIndex folders;
  for (const NumberedLine& line : read_list_lines(path)) {
    std::vector<std::string> f = split_fields(line.text);
    if (f.size() != (labelled ? 2u : 1u))
      line_error(path, line.number,
                 labelled ? "expected `Class/file.avi label`" : "expected `Class/file.avi`");
    int64_t label = 0;
    if (labelled) {
      label = parse_label(path, line.number, f[1], 1, int64_t(class_names.size())) - 1;
    } else {
      size_t slash = f[0].find('/');
      if (slash == std::string::npos || slash == 0)
        line_error(path, line.number, "'" + f[0] + "' has no class folder");
      auto it = by_lower.find(lower_ascii(f[0].substr(0, slash)));
      if (it == by_lower.end())
        line_error(path, line.number,
                   "folder '" + f[0].substr(0, slash) + "' matches no class of classInd.txt");
      label = it->second;
    }
    std::string video = find_video(videos_root, f[0], &folders);
    if (video.empty()) {
      note_skipped(&list, videos_root + "/" + f[0], "missing");
      continue;
    }
    list.samples.push_back({video, label});
  }
  return list;
}

LabelledList read_ucf101(const Ucf101Layout& layout, const std::string& part) {
  SIGNET_CHECK(layout.split >= 1 && layout.split <= 3, "UCF-101: split must be 1, 2 or 3, got ",
               layout.split);
  SIGNET_CHECK(part == "train" || part == "test", "UCF-101: part must be train or test, got '",
               part, "'");
  std::vector<std::string> classes = read_ucf101_classes(layout.lists + "/classInd.txt");
  std::string list = layout.lists + "/" + part + "list0" + std::to_string(layout.split) + ".txt";
  return read_ucf101_list(list, layout.videos, classes, part == "train");
}

}  // namespace signet::media
