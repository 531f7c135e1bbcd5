#include "tools/cli/datasets.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "engine/data/tensor_dataset.h"
#include "engine/io/npy.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "tools/cli/args.h"
#include "tools/media/formats/feature_sequences.h"
#include "tools/media/formats/folder_per_class.h"
#include "tools/media/formats/image_dataset.h"
#include "tools/media/formats/isogd.h"
#include "tools/media/formats/jester.h"
#include "tools/media/formats/ucf101.h"
#include "tools/media/formats/wlasl.h"
#include "tools/media/sign_mnist.h"

namespace signet::cli {
namespace {

namespace fs = std::filesystem;

// True when path names an existing regular file.
bool is_file(const std::string& path) {
  return fs::is_regular_file(path);
}

// Max label + 1 over a data set (reads every sample's label).
int64_t label_count(const data::Dataset& ds) {
  int64_t top = -1;
  for (int64_t i = 0; i < ds.size(); ++i) top = std::max(top, ds.get(i).label);
  return top + 1;
}

// The split `name` of a .npy folder (name_x.npy, name_y.npy and, for zero-padded sequences,
// name_len.npy), or null when absent.
std::shared_ptr<const data::Dataset> npy_split(const std::string& dir, const std::string& name) {
  std::string x = dir + "/" + name + "_x.npy", y = dir + "/" + name + "_y.npy",
              len = dir + "/" + name + "_len.npy";
  if (!is_file(x)) return nullptr;
  SIGNET_CHECK(is_file(y), "data: ", x, " has no labels file ", y);
  Tensor labels = io::read_npy(y);
  Tensor lengths = is_file(len) ? io::read_npy(len).to(DType::i64) : Tensor();
  return std::make_shared<UnitFloat>(
      std::make_shared<data::TensorDataset>(io::read_npy(x), labels.to(DType::i64), lengths));
}

// The class names of a .npy folder's classes.txt (one a line), or none.
std::vector<std::string> read_class_names(const std::string& dir) {
  std::vector<std::string> names;
  std::ifstream in(dir + "/classes.txt");
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) names.push_back(line);
  return names;
}

// The split `name` of a Sign-Language-MNIST folder, or null when absent.
std::shared_ptr<const data::Dataset> mnist_split(const std::string& path, const std::string& name) {
  std::string file = is_file(path) ? (name == "train" ? path : std::string())
                                   : path + "/sign_mnist_" + name + ".csv";
  if (file.empty() || !is_file(file)) return nullptr;
  return std::make_shared<UnitFloat>(
      std::make_shared<media::SignMnistDataset>(media::read_sign_mnist_csv(file)));
}

// A format name and its number: "ucf101:2" -> (ucf101, 2), "wlasl100" -> (wlasl, 100).
struct FormatName {
  std::string name;
  int64_t number = 0;
};

// Parses --data-format; a UsageError when a number is malformed or the format takes none.
FormatName parse_format(const std::string& command, const std::string& text) {
  FormatName f{text, 0};
  std::string digits;
  const size_t colon = text.find(':');
  if (colon != std::string::npos) {
    f.name = text.substr(0, colon);
    digits = text.substr(colon + 1);
  } else if (text.rfind("wlasl", 0) == 0 && text.size() > 5) {
    f.name = "wlasl";
    digits = text.substr(5);
  }
  if (colon == std::string::npos && digits.empty()) return f;
  f.number = parse_int(command, "--data-format", digits);
  if ((f.name != "ucf101" && f.name != "wlasl") || f.number < 1 ||
      (f.name == "ucf101" && f.number > 3))
    throw UsageError(command, "--data-format " + text +
                                  ": only ucf101:N (split 1, 2 or 3) and wlasl:K or wlaslK "
                                  "(the first K glosses) take a number");
  return f;
}

// True for the formats read through tools/media/formats (lists of labelled files).
bool listed_format(const std::string& name) {
  return name == "folder" || name == "features" || name == "ucf101" || name == "wlasl" ||
         name == "isogd" || name == "jester";
}

// True when root holds train/, val/ or test/ folders (split/class/file) rather than classes.
bool has_split_folders(const std::string& root) {
  return fs::is_directory(root + "/train") || fs::is_directory(root + "/val") ||
         fs::is_directory(root + "/test");
}

// The folder of class folders that decides a folder-per-class set's media kind.
std::string first_class_root(const std::string& root) {
  if (!has_split_folders(root)) return root;
  for (const char* split : {"train", "val", "test"})
    if (fs::is_directory(root + "/" + split)) return root + "/" + split;
  return root;
}

// Files of each kind in the class folders of a folder (hidden ones included).
struct MediaCounts {
  int64_t videos = 0, images = 0, features = 0;
};

// Counts the videos, images and .npy files of root/<class>/.
MediaCounts count_media(const std::string& root) {
  MediaCounts n;
  for (auto& c : fs::directory_iterator(root)) {
    if (!c.is_directory()) continue;
    for (auto& e : fs::directory_iterator(c.path())) {
      const std::string p = e.path().string();
      n.videos += media::has_media_extension(p, media::MediaKind::video);
      n.images += media::has_media_extension(p, media::MediaKind::image);
      n.features += media::has_media_extension(p, media::MediaKind::features);
    }
  }
  return n;
}

// What the samples of a listed format are.
enum class Holds { video, image, features, frame_folders };

// One split of a listed format, or nothing when the format has no split of that name (or
// lists no sample in it).
std::optional<media::LabelledList> listed_split(const FormatName& f, const std::string& root,
                                                const std::string& split, Holds holds) {
  std::optional<media::LabelledList> list;
  if (f.name == "folder" || f.name == "features") {
    media::MediaKind kind = holds == Holds::features ? media::MediaKind::features
                            : holds == Holds::image  ? media::MediaKind::image
                                                     : media::MediaKind::video;
    if (has_split_folders(root)) {
      if (fs::is_directory(root + "/" + split))
        list = media::read_folder_per_class(root + "/" + split, kind);
    } else if (split == "train") {
      list = media::read_folder_per_class(root, kind);
    }
  } else if (f.name == "ucf101") {
    if (split != "val")
      list = media::read_ucf101(media::ucf101_layout(root, f.number ? int(f.number) : 1), split);
  } else if (f.name == "wlasl") {
    list = media::read_wlasl(media::wlasl_layout(root, f.number), split);
  } else if (f.name == "isogd") {
    media::IsoGdOptions io;
    io.root = root;
    std::string file = media::isogd_list_path(root, split);
    if (is_file(file)) list = media::read_isogd_list(file, io);
  } else if (f.name == "jester") {
    media::JesterLayout l = media::jester_layout(root);
    std::string file = split == "train" ? l.train : split == "val" ? l.val : std::string();
    if (!file.empty() && is_file(file))
      list = media::read_jester_split(file, l.frames, media::read_jester_labels(l.labels));
  }
  if (list && list->samples.empty() && list->skipped == 0) list.reset();
  return list;
}

// Relabels a split by class name onto the train split's classes; a class train lacks is an
// error naming the split.
void relabel(media::LabelledList* list, const std::vector<std::string>& names,
             const std::string& where) {
  if (list->class_names == names) return;
  std::vector<int64_t> to(list->class_names.size());
  for (size_t c = 0; c < to.size(); ++c) {
    auto it = std::find(names.begin(), names.end(), list->class_names[c]);
    SIGNET_CHECK(it != names.end(), where, ": class '", list->class_names[c],
                 "' is not a class of the train split");
    to[c] = int64_t(it - names.begin());
  }
  for (media::LabelledVideo& v : list->samples) v.label = to[size_t(v.label)];
  list->class_names = names;
}

// The decoded-clip cache file of a split ("" without a cache folder); its header records the
// size, frames and sampling, so a change of those rebuilds it.
std::string clip_cache_path(const DataOptions& o, const std::string& format,
                            const std::string& split) {
  if (o.cache_dir.empty()) return "";
  std::error_code ec;
  std::filesystem::create_directories(o.cache_dir, ec);  // a failure shows as the cache's warning
  std::string name = format + "-" + split + ".clips";
  std::replace(name.begin(), name.end(), ':', '_');
  return o.cache_dir + "/" + name;
}

// The data set of a list (split `split` of `format`): clips, images, feature sequences or frame
// folders.
std::shared_ptr<const data::Dataset> listed_dataset(const media::LabelledList& list, Holds holds,
                                                    const DataOptions& o, const std::string& format,
                                                    const std::string& split) {
  if (holds == Holds::image) {
    media::ImageOptions io;
    io.size = static_cast<int>(o.size);
    return std::make_shared<media::ImageDataset>(list.samples, io);
  }
  if (holds == Holds::features) {
    media::FeatureOptions fo;
    fo.frames = o.frames;
    fo.padding = o.padding;
    return std::make_shared<media::FeatureDataset>(list.samples, fo);
  }
  if (holds == Holds::frame_folders) {
    media::FrameFolderOptions fo;
    fo.frames = o.frames;
    fo.pad = o.padding;
    fo.size = static_cast<int>(o.size);
    return std::make_shared<media::FrameFolderDataset>(list.samples, fo);
  }
  media::ClipOptions co;
  co.frames = o.frames;
  co.size = static_cast<int>(o.size);
  co.cache_path = clip_cache_path(o, format, split);
  co.padding = o.padding;
  return std::make_shared<media::ClipDataset>(list.samples, co);
}

// Reads the wanted splits of a listed format into s. A validation split the format lacks is
// carved from train, stratified and seeded; files left out are reported on stderr; a split
// listed with no usable sample is fatal.
void read_listed(const DataOptions& o, const FormatName& f, const std::vector<std::string>& want,
                 Splits* s) {
  auto wanted = [&](const std::string& name) {
    return std::find(want.begin(), want.end(), name) != want.end();
  };
  Holds holds = f.name == "features" ? Holds::features
                : f.name == "jester" ? Holds::frame_folders
                                     : Holds::video;
  if (f.name == "folder")
    holds = media::detect_media_kind(first_class_root(o.path)) == media::MediaKind::image
                ? Holds::image
                : Holds::video;
  std::optional<media::LabelledList> lists[3];
  const char* names[3] = {"train", "val", "test"};
  // Folder layouts take their class names from train's folders, so train is listed whenever
  // it exists; the list formats name their classes in one index file.
  const bool folders = f.name == "folder" || f.name == "features";
  for (int k = 0; k < 3; ++k)
    if (wanted(names[k]) || (k == 0 && (wanted("val") || folders)))
      lists[k] = listed_split(f, o.path, names[k], holds);
  for (int k = 0; k < 3; ++k)
    if (lists[k] && lists[k]->skipped > 0)
      std::fprintf(stderr, "signet: %s (%s) %s: %lld file(s) left out, first: %s\n", o.path.c_str(),
                   s->format.c_str(), names[k], static_cast<long long>(lists[k]->skipped),
                   lists[k]->skipped_notes.front().c_str());
  for (int k = 0; k < 3; ++k)
    if (lists[k] && s->class_names.empty()) s->class_names = lists[k]->class_names;
  for (int k = 0; k < 3; ++k)
    if (lists[k]) {
      std::string where = o.path + " (" + s->format + ") " + names[k];
      if (wanted(names[k]) || (k == 0 && wanted("val")))
        media::require_samples(*lists[k], "data: " + where);
      relabel(&*lists[k], s->class_names, where);
    }
  if (lists[0] && !lists[1] && wanted("val") && o.val_fraction > 0) {
    std::vector<int64_t> labels;
    for (const media::LabelledVideo& v : lists[0]->samples) labels.push_back(v.label);
    media::TrainValIndices parts = media::stratified_split(labels, o.val_fraction, o.seed);
    SIGNET_CHECK(!parts.val.empty(), "data: ", o.path, ": ", labels.size(),
                 " training samples are too few to carve a validation part");
    lists[1] = media::select_samples(*lists[0], parts.val);
    lists[0] = media::select_samples(*lists[0], parts.train);
  }
  std::shared_ptr<const data::Dataset>* out[3] = {&s->train, &s->val, &s->test};
  for (int k = 0; k < 3; ++k)
    if (lists[k] && wanted(names[k]))
      *out[k] = listed_dataset(*lists[k], holds, o, f.name, names[k]);
}

}  // namespace

data::Sample UnitFloat::get(int64_t i) const {
  data::Sample s = base_->get(i);
  s.input = s.input.dtype() == DType::u8 ? s.input.to(DType::f32) * (1.0 / 255.0)
                                         : s.input.to(DType::f32);
  return s;
}

std::string detect_format(const std::string& command, const std::string& path) {
  if (is_file(path) && path.size() > 4 && path.substr(path.size() - 4) == ".csv") return "mnist";
  if (!fs::is_directory(path))
    throw UsageError(command, "--data " + path + " is not a folder or a .csv file");
  if (is_file(path + "/train_x.npy") || is_file(path + "/test_x.npy") ||
      is_file(path + "/val_x.npy"))
    return "npy";
  if (is_file(path + "/sign_mnist_train.csv") || is_file(path + "/sign_mnist_test.csv"))
    return "mnist";
  if (is_file(media::wlasl_layout(path).json)) return "wlasl";
  if (is_file(media::ucf101_layout(path).lists + "/classInd.txt")) return "ucf101";
  if (is_file(path + "/train_list.txt") || is_file(path + "/valid_list.txt")) return "isogd";
  if (is_file(media::jester_layout(path).labels)) return "jester";
  const MediaCounts counts = count_media(first_class_root(path));
  if (counts.features > 0) return "features";
  if (has_split_folders(path)) return counts.images > 0 && counts.videos == 0 ? "folder" : "video";
  if (counts.images > 0 || counts.videos > 0) return "folder";
  throw UsageError(command, "--data " + path +
                                ": no train_x.npy, sign_mnist_*.csv, WLASL json, UCF-101, IsoGD "
                                "or Jester lists, train/ folder or class folders of videos, "
                                "images or .npy files in it");
}

std::vector<media::LabelledVideo> video_split(const std::string& dir, const std::string& split,
                                              std::vector<std::string>* class_names) {
  std::vector<media::LabelledVideo> out;
  std::string root = dir + "/" + split;
  if (!fs::is_directory(root)) return out;
  if (class_names->empty()) {
    for (auto& e : fs::directory_iterator(root))
      if (e.is_directory()) class_names->push_back(e.path().filename().string());
    std::sort(class_names->begin(), class_names->end());
  }
  for (size_t c = 0; c < class_names->size(); ++c) {
    std::string folder = root + "/" + (*class_names)[c];
    if (!fs::is_directory(folder)) continue;
    std::vector<std::string> files;
    for (auto& e : fs::directory_iterator(folder))
      if (e.is_regular_file()) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    for (auto& f : files) out.push_back({f, static_cast<int64_t>(c)});
  }
  return out;
}

Splits load_splits(const std::string& command, const DataOptions& o,
                   const std::vector<std::string>& want) {
  Splits s;
  s.format = o.format == "auto" ? detect_format(command, o.path) : o.format;
  const FormatName f = parse_format(command, s.format);
  if (f.name != "npy" && f.name != "mnist" && f.name != "video" && !listed_format(f.name))
    throw UsageError(command, "unknown data format '" + s.format +
                                  "' (auto, npy, mnist, video, folder, features, ucf101, wlasl, "
                                  "isogd, jester)");
  if (listed_format(f.name)) read_listed(o, f, want, &s);
  auto read = [&](const std::string& name) -> std::shared_ptr<const data::Dataset> {
    if (std::find(want.begin(), want.end(), name) == want.end()) return nullptr;
    if (s.format == "npy") return npy_split(o.path, name);
    if (s.format == "mnist") return mnist_split(o.path, name);
    std::vector<media::LabelledVideo> files = video_split(o.path, name, &s.class_names);
    if (files.empty()) return nullptr;
    media::ClipOptions co;
    co.frames = o.frames;
    co.size = static_cast<int>(o.size);
    co.cache_path = clip_cache_path(o, s.format, name);
    co.padding = o.padding;
    return std::make_shared<media::ClipDataset>(files, co);
  };
  if (s.format == "npy") s.class_names = read_class_names(o.path);
  if (!listed_format(f.name)) {
    s.train = read("train");
    s.val = read("val");
    s.test = read("test");
  }
  for (const std::string& w : want) {
    bool have = (w == "train" && s.train) || (w == "val" && s.val) || (w == "test" && s.test);
    bool optional = w != "train" && std::find(want.begin(), want.end(), "train") != want.end();
    SIGNET_CHECK(have || optional, "data: ", o.path, " (", s.format, ") has no ", w, " split");
  }
  if (s.train && !s.val && o.val_fraction > 0 &&
      std::find(want.begin(), want.end(), "val") != want.end()) {
    // A seeded part of train becomes the validation split; the test split is never used.
    RngStream shuffle = shuffle_stream(o.seed, 0);
    std::vector<int64_t> order(static_cast<size_t>(s.train->size()));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    for (size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[shuffle.uniform_int(i)]);
    size_t n_val = std::max<size_t>(1, static_cast<size_t>(o.val_fraction * order.size()));
    SIGNET_CHECK(n_val < order.size(), "data: ", o.path, ": ", order.size(),
                 " training samples are too few to carve a validation part");
    s.val = std::make_shared<Subset>(s.train,
                                     std::vector<int64_t>(order.begin(), order.begin() + n_val));
    s.train =
        std::make_shared<Subset>(s.train, std::vector<int64_t>(order.begin() + n_val, order.end()));
  }
  for (auto* ds : {&s.train, &s.val, &s.test})
    if (*ds) {
      s.classes = std::max(s.classes, label_count(**ds));
      if (s.sample_shape.empty()) s.sample_shape = (*ds)->get(0).input.shape();
    }
  s.classes = std::max<int64_t>(s.classes, static_cast<int64_t>(s.class_names.size()));
  return s;
}

void report_bad_frames(const Splits& s) {
  int64_t bad = 0;
  for (const auto& ds : {s.train, s.val, s.test})
    if (auto* ff = dynamic_cast<const media::FrameFolderDataset*>(ds.get()))
      bad += ff->bad_frames();
  if (bad > 0)
    std::fprintf(
        stderr,
        "data: %lld undecodable frame files were replaced by a neighbour (warnings above)\n",
        static_cast<long long>(bad));
}

}  // namespace signet::cli
