#include "tools/cli/run_config.h"

#include <cstdio>
#include <cstdlib>

#include "engine/cuda_device.h"
#include "engine/error.h"
#include "models/registry.h"

namespace signet::cli {
namespace {

using K = ConfigKey::Kind;

// The flag of a key: "--" + key with '_' as '-'.
std::string flag_of(const std::string& key) {
  std::string f = "--" + key;
  for (char& c : f)
    if (c == '_') c = '-';
  return f;
}

// A boolean JSON value.
io::Json json_bool(bool v) {
  io::Json j;
  j.kind = io::Json::Kind::boolean;
  j.boolean = v;
  return j;
}

// The key with this name, or nullptr.
const ConfigKey* find_key(const std::string& key) {
  for (const ConfigKey& k : config_keys())
    if (key == k.key) return &k;
  return nullptr;
}

// True when value has the JSON type the key wants.
bool fits(const ConfigKey& k, const io::Json& v) {
  switch (k.kind) {
    case K::integer:
      return v.kind == io::Json::Kind::number && v.is_integer;
    case K::number:
      return v.kind == io::Json::Kind::number;
    case K::text:
      return v.kind == io::Json::Kind::string;
    case K::boolean:
      return v.kind == io::Json::Kind::boolean;
  }
  return false;
}

}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = {
      {"model", K::text, "\"sign_cnn\"", "registered model"},
      {"data", K::text, "\"\"", "data: .npy folder, mnist CSV folder/file, or video folder"},
      {"data_format", K::text, "\"auto\"",
       "auto, npy, mnist, video, folder, features, ucf101[:N], wlasl[:K], isogd or jester"},
      {"frames", K::integer, "16", "video: frames per clip"},
      {"size", K::integer, "32", "video: frame side in pixels"},
      {"val_fraction", K::number, "0.1",
       "part of train used for validation when no val split (0: none; test on the last epoch)"},
      {"cache", K::text, "\"\"", "video: folder of decoded-clip caches (one file per split)"},
      {"padding", K::text, "\"loop_reverse\"",
       "video: short clips filled by loop_reverse, repeat_last, stretch or zeros (zero frames; "
       "the samples carry their real length)"},
      {"augment", K::text, "\"\"",
       "training augmentation, any of time,crop,rotate,color,flip (none by default)"},
      {"epochs", K::integer, "10", "epochs"},
      {"batch", K::integer, "32", "batch size"},
      {"optimizer", K::text, "\"adam\"", "sgd, adam, adamw or rmsprop"},
      {"lr", K::number, "0.001", "learning rate"},
      {"momentum", K::number, "0", "sgd, rmsprop: momentum"},
      {"nesterov", K::boolean, "false", "sgd: Nesterov momentum"},
      {"beta1", K::number, "0.9", "adam, adamw: beta1"},
      {"beta2", K::number, "0.999", "adam, adamw: beta2"},
      {"eps", K::number, "1e-08", "adam, adamw, rmsprop: epsilon"},
      {"alpha", K::number, "0.99", "rmsprop: smoothing constant"},
      {"weight_decay", K::number, "0", "weight decay (L2; decoupled for adamw)"},
      {"schedule", K::text, "\"none\"", "none, step, multistep, exp, cosine or plateau"},
      {"step_size", K::integer, "10", "step: epochs between decays"},
      {"gamma", K::number, "0.1", "step, multistep, exp: decay factor"},
      {"milestones", K::text, "\"\"", "multistep: comma-separated epochs"},
      {"warmup", K::integer, "0", "cosine: linear warm-up epochs"},
      {"plateau_patience", K::integer, "10", "plateau: epochs without improvement"},
      {"plateau_factor", K::number, "0.1", "plateau: lr factor"},
      {"dropout", K::number, "0", "model dropout"},
      {"batch_norm", K::boolean, "false", "sign_cnn: BatchNorm2d after each convolution"},
      {"hidden", K::integer, "64", "hidden units (mlp, feature_lstm, convlstm)"},
      {"layers", K::integer, "2", "layers (mlp, feature_lstm, convlstm)"},
      {"clip_norm", K::number, "0", "clip the global gradient norm (0: off)"},
      {"tbptt", K::integer, "0",
       "truncated BPTT chunk steps (0: off; feature_lstm, cnn_lstm, convlstm)"},
      {"tbptt_step", K::text, "\"chunk\"",
       "tbptt: chunk (an optimiser step per chunk) or sequence (one per batch)"},
      {"class_weights", K::text, "\"\"", "comma-separated per-class loss weights"},
      {"label_smoothing", K::number, "0", "label smoothing of the loss"},
      {"patience", K::integer, "0", "early stopping patience on val_loss (0: off)"},
      {"init_weights", K::text, "\"\"", "safetensors of initial weights (PyTorch names)"},
      {"strict_weights", K::boolean, "false",
       "init_weights: missing or unexpected names are errors"},
      {"new_classes", K::integer, "0", "init_weights: replace the head by one of N classes"},
      {"freeze", K::text, "\"\"", "comma-separated parameter name prefixes not trained"},
      {"lr_mult", K::text, "\"\"", "PREFIX=F[,PREFIX=F]: those parameters' lr is lr * F"},
      {"device", K::text, "\"cpu\"", "cpu or cuda[:i]"},
      {"seed", K::integer, "1", "seed"},
      {"threads", K::integer, "1", "data loader threads"},
      {"out", K::text, "\"runs/run\"", "run folder"},
      {"resume", K::text, "\"\"", "run folder to resume (its last.safetensors)"},
  };
  return keys;
}

void print_config_help(std::FILE* out) {
  for (const ConfigKey& k : config_keys()) {
    std::string f = flag_of(k.key) + (k.kind == K::boolean ? "" : " X");
    std::string help = k.help;
    if (std::string(k.key) == "model") {
      help = "registered model:";
      for (const models::ModelEntry& e : models::registry()) help += std::string(" ") + e.name;
    }
    std::fprintf(out, "  %-22s %s (default %s)\n", f.c_str(), help.c_str(), k.fallback);
  }
}

RunConfig::RunConfig() : json_(io::Json::object()) {
  for (const ConfigKey& k : config_keys())
    json_.set(k.key, io::parse_json(k.fallback, "train defaults"));
}

void RunConfig::merge(const io::Json& object, const std::string& command,
                      const std::string& origin) {
  if (object.kind != io::Json::Kind::object)
    throw UsageError(command, origin + " is not a JSON object");
  for (auto& [key, value] : object.members) {
    const ConfigKey* k = find_key(key);
    if (!k) {
      if (key == "classes" || key == "class_names" || key == "input_shape") continue;  // results
      throw UsageError(command, origin + ": unknown key '" + key + "'");
    }
    if (!fits(*k, value)) throw UsageError(command, origin + ": '" + key + "' has the wrong type");
    put(key, value);
  }
}

bool RunConfig::set_flag(const std::string& flag, ArgCursor& args) {
  std::string name = flag == "--optimiser" ? "--optimizer" : flag;
  for (const ConfigKey& k : config_keys()) {
    if (flag_of(k.key) != name) continue;
    const std::string& cmd = args.command();
    switch (k.kind) {
      case K::boolean:
        put(k.key, json_bool(true));
        break;
      case K::integer:
        put(k.key, io::Json::of(parse_int(cmd, name, args.value(name))));
        break;
      case K::number:
        put(k.key, io::Json::of(parse_double(cmd, name, args.value(name))));
        break;
      case K::text:
        put(k.key, io::Json::of(args.value(name)));
        break;
    }
    return true;
  }
  return false;
}

void RunConfig::put(const std::string& key, io::Json value) {
  for (auto& [k, v] : json_.members)
    if (k == key) {
      v = std::move(value);
      return;
    }
  json_.set(key, std::move(value));
}

const io::Json& RunConfig::at(const std::string& key) const {
  const io::Json* v = json_.find(key);
  SIGNET_CHECK(v, "train config: no key '", key, "'");
  return *v;
}

std::string RunConfig::text(const std::string& key) const {
  return at(key).str;
}
int64_t RunConfig::integer(const std::string& key) const {
  const io::Json& v = at(key);
  return v.is_integer ? v.integer : static_cast<int64_t>(v.number);
}
double RunConfig::number(const std::string& key) const {
  const io::Json& v = at(key);
  return v.is_integer ? static_cast<double>(v.integer) : v.number;
}
bool RunConfig::boolean(const std::string& key) const {
  return at(key).boolean;
}

models::ModelConfig model_config(const RunConfig& config, const Shape& s, int64_t classes) {
  models::ModelConfig c;
  c.classes = classes;
  c.hidden = config.integer("hidden");
  c.layers = config.integer("layers");
  c.dropout = config.number("dropout");
  c.batch_norm = config.boolean("batch_norm");
  size_t d = s.size();
  SIGNET_CHECK(d >= 1 && d <= 4, "train: samples of shape ", shape_str(s),
               " are not (F), (T, F), (C, H, W) or (T, C, H, W)");
  if (d <= 2) c.features = s[d - 1];
  if (d >= 3) {
    c.channels = s[d - 3];
    c.height = s[d - 2];
    c.width = s[d - 1];
  }
  if (d == 3) c.features = s[0] * s[2];  // feature_lstm reads an image's rows as steps
  return c;
}

ClassLossOptions loss_options(const RunConfig& c, int64_t classes, const std::string& command) {
  ClassLossOptions loss;
  std::vector<double> weights = parse_list(command, "--class-weights", c.text("class_weights"));
  if (!weights.empty()) {
    if (static_cast<int64_t>(weights.size()) != classes)
      throw UsageError(command, "--class-weights has " + std::to_string(weights.size()) +
                                    " values for " + std::to_string(classes) + " classes");
    loss.weight = from_vector(weights, {classes}).to(DType::f32);
  }
  loss.label_smoothing = c.number("label_smoothing");
  return loss;
}

void check_model_name(const std::string& command, const std::string& name) {
  std::string known;
  for (const models::ModelEntry& e : models::registry()) {
    if (name == e.name) return;
    known += std::string(known.empty() ? "" : ", ") + e.name;
  }
  throw UsageError(command, "unknown model '" + name + "' (known: " + known + ")");
}

media::ShortClipPadding parse_padding(const std::string& command, const std::string& text) {
  try {
    return media::parse_short_clip_padding(text);
  } catch (const Error& e) {
    throw UsageError(command, std::string("--padding: ") + e.what());
  }
}

media::ShortClipPadding padding_of(const std::string& command, const RunConfig& config) {
  return parse_padding(command, config.text("padding"));
}

Device parse_device(const std::string& command, const std::string& text) {
  if (text == "cpu") return Device::cpu();
  int index = 0;
  if (text.rfind("cuda:", 0) == 0)
    index = static_cast<int>(parse_int(command, "--device", text.substr(5)));
  else if (text != "cuda")
    throw UsageError(command, "--device expects cpu, cuda or cuda:i, got '" + text + "'");
  const char* request = std::getenv("SIGNET_CUDA_BACKEND");
  std::string backend;
  try {
    backend = resolve_cuda_backend(request);
  } catch (const Error& e) {
    throw UsageError(command, std::string("--device ") + text + ": " + e.what());
  }
  bool simt_asked = request != nullptr && std::string(request) == "simt";
  if (backend == "simt" && !simt_asked)
    throw UsageError(command, "--device " + text +
                                  ": no CUDA GPU found (SIGNET_CUDA_BACKEND=simt runs the CUDA "
                                  "kernels on the host)");
  return Device::cuda(index);
}

std::vector<double> parse_list(const std::string& command, const std::string& flag,
                               const std::string& text) {
  std::vector<double> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    out.push_back(parse_double(command, flag, text.substr(start, comma - start)));
    start = comma + 1;
  }
  return out;
}

}  // namespace signet::cli
