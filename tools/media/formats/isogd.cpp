#include "tools/media/formats/isogd.h"

#include <filesystem>

#include "engine/error.h"

namespace signet::media {

namespace fs = std::filesystem;

std::string isogd_list_path(const std::string& root, const std::string& split) {
  SIGNET_CHECK(split == "train" || split == "val" || split == "test",
               "IsoGD: split must be train, val or test, got '", split, "'");
  return root + "/" + (split == "val" ? std::string("valid") : split) + "_list.txt";
}

LabelledList read_isogd_list(const std::string& list_file, const IsoGdOptions& options) {
  SIGNET_CHECK(options.classes >= 1, "IsoGD: classes must be positive, got ", options.classes);
  LabelledList list;
  for (int64_t c = 1; c <= options.classes; ++c) list.class_names.push_back(std::to_string(c));
  for (const NumberedLine& line : read_list_lines(list_file)) {
    std::vector<std::string> f = split_fields(line.text);
    if (f.size() != 3)
      line_error(list_file, line.number,
                 "expected `rgb.avi depth.avi label` (3 fields), got " + std::to_string(f.size()));
    int64_t label = parse_label(list_file, line.number, f[2], 1, options.classes) - 1;
    std::string video = options.root + "/" + (options.depth ? f[1] : f[0]);
    if (!fs::is_regular_file(video)) {
      note_skipped(&list, video, "missing");
      continue;
    }
    list.samples.push_back({video, label});
  }
  return list;
}

}  // namespace signet::media
