#include "tools/cli/datasets.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "engine/data/tensor_dataset.h"
#include "engine/io/npy.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "tools/cli/args.h"
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

// The split `name` of a .npy folder (name_x.npy, name_y.npy), or null when absent.
std::shared_ptr<const data::Dataset> npy_split(const std::string& dir, const std::string& name) {
  std::string x = dir + "/" + name + "_x.npy", y = dir + "/" + name + "_y.npy";
  if (!is_file(x)) return nullptr;
  SIGNET_CHECK(is_file(y), "data: ", x, " has no labels file ", y);
  Tensor labels = io::read_npy(y);
  return std::make_shared<UnitFloat>(
      std::make_shared<data::TensorDataset>(io::read_npy(x), labels.to(DType::i64)));
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
  if (fs::is_directory(path + "/train") || fs::is_directory(path + "/test")) return "video";
  throw UsageError(command, "--data " + path +
                                ": no train_x.npy, sign_mnist_*.csv or train/ video folder in it");
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
  if (s.format != "npy" && s.format != "mnist" && s.format != "video")
    throw UsageError(command, "unknown data format '" + s.format + "' (auto, npy, mnist, video)");
  auto read = [&](const std::string& name) -> std::shared_ptr<const data::Dataset> {
    if (std::find(want.begin(), want.end(), name) == want.end()) return nullptr;
    if (s.format == "npy") return npy_split(o.path, name);
    if (s.format == "mnist") return mnist_split(o.path, name);
    std::vector<media::LabelledVideo> files = video_split(o.path, name, &s.class_names);
    if (files.empty()) return nullptr;
    media::ClipOptions co;
    co.frames = o.frames;
    co.size = static_cast<int>(o.size);
    return std::make_shared<media::ClipDataset>(files, co);
  };
  if (s.format == "npy") s.class_names = read_class_names(o.path);
  s.train = read("train");
  s.val = read("val");
  s.test = read("test");
  for (const std::string& w : want) {
    bool have = (w == "train" && s.train) || (w == "val" && s.val) || (w == "test" && s.test);
    bool optional = w != "train" && std::find(want.begin(), want.end(), "train") != want.end();
    SIGNET_CHECK(have || optional, "data: ", o.path, " (", s.format, ") has no ", w, " split");
  }
  if (s.train && !s.val && std::find(want.begin(), want.end(), "val") != want.end()) {
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

}  // namespace signet::cli
