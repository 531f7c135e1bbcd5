#include "tools/cli/run_folder.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/autograd.h"
#include "engine/io/safetensors.h"
#include "engine/random.h"
#include "models/registry.h"

namespace signet::cli {

namespace fs = std::filesystem;

// The whole text of a file; an Error naming it when it cannot be read.
std::string read_text(const std::string& path) {
  std::ifstream in(path);
  SIGNET_CHECK(in, "cannot read ", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> complete_names(std::vector<std::string> names, int64_t classes) {
  for (int64_t i = static_cast<int64_t>(names.size()); i < classes; ++i)
    names.push_back("class " + std::to_string(i));
  return names;
}

void load_weights(models::Model& model, const std::string& path) {
  io::SafetensorsData in = io::read_safetensors(path);
  NoGradGuard no_grad;
  for (auto& [name, p] : model.state_dict()) {
    auto it = in.tensors.find(name);
    SIGNET_CHECK(it != in.tensors.end(), "load weights: ", path, " has no '", name, "'");
    SIGNET_CHECK(it->second.shape() == p.shape(), "load weights: ", path, ": '", name,
                 "' has shape ", shape_str(it->second.shape()), ", the model's is ",
                 shape_str(p.shape()));
    Tensor(p).copy_(it->second.to(p.dtype()));
  }
}

OpenedRun open_run(const std::string& command, const std::string& path) {
  OpenedRun r;
  bool dir = fs::is_directory(path);
  if (!dir && !fs::is_regular_file(path))
    throw UsageError(command, path + " is neither a run folder nor a checkpoint file");
  std::string folder = dir ? path : fs::path(path).parent_path().string();
  if (folder.empty()) folder = ".";
  // A run without validation (--val-fraction 0) has no best checkpoint: its last one is measured.
  r.checkpoint = !dir                                     ? path
                 : fs::exists(path + "/best.safetensors") ? path + "/best.safetensors"
                                                          : path + "/last.safetensors";
  std::string config_path = folder + "/config.json";
  SIGNET_CHECK(fs::is_regular_file(config_path), command, ": ", config_path,
               " is missing (needed to rebuild the model)");
  io::Json j = io::parse_json(read_text(config_path), config_path);
  r.config.merge(j, command, config_path);
  const io::Json* classes = j.find("classes");
  const io::Json* shape = j.find("input_shape");
  SIGNET_CHECK(classes && shape, command, ": ", config_path,
               " has no classes or input_shape (not written by signet train)");
  for (const io::Json& d : shape->items) r.input_shape.push_back(d.integer);
  if (const io::Json* names = j.find("class_names"))
    for (const io::Json& n : names->items) r.class_names.push_back(n.str);
  r.class_names = complete_names(r.class_names, classes->integer);
  std::string name = r.config.text("model");
  check_model_name(command, name);
  r.model = models::create_model(name, model_config(r.config, r.input_shape, classes->integer));
  load_weights(*r.model, r.checkpoint);
  r.model->train(false);
  return r;
}

void print_metrics(const char* split, const EvalResult& r, const std::vector<std::string>& names) {
  std::printf("%s: top-1 %.4f  top-5 %.4f  top-10 %.4f  loss %.4f  macro-F1 %.4f  (%lld samples)\n",
              split, r.top1, r.top5, r.top10, r.loss, r.macro_f1,
              static_cast<long long>(r.samples));
  int64_t c = r.confusion.size(0);
  std::vector<int64_t> m = r.confusion.to_vector<int64_t>();
  std::printf("confusion matrix (rows: true class, columns: predicted)\n%16s", "");
  for (int64_t j = 0; j < c; ++j) std::printf("%5lld", static_cast<long long>(j));
  std::printf("   accuracy\n");
  for (int64_t i = 0; i < c; ++i) {
    std::printf("%3lld %-12.12s", static_cast<long long>(i), names[static_cast<size_t>(i)].c_str());
    int64_t row = 0;
    for (int64_t j = 0; j < c; ++j) {
      std::printf("%5lld", static_cast<long long>(m[i * c + j]));
      row += m[i * c + j];
    }
    if (row > 0)
      std::printf("   %.3f\n", static_cast<double>(m[i * c + i]) / static_cast<double>(row));
    else
      std::printf("   -\n");
  }
}

void print_top5(const std::vector<float>& p, const std::vector<std::string>& names) {
  std::vector<size_t> order(p.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return p[x] > p[y]; });
  for (size_t k = 0; k < std::min<size_t>(5, p.size()); ++k)
    std::printf("  %zu. %-14s %.4f\n", k + 1, names[order[k]].c_str(), p[order[k]]);
}

}  // namespace signet::cli
