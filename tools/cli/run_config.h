// The configuration of `signet train`: every key with its type, default and help, read from
// a JSON file (--config) and flags (--key-name value, which override the file), and written
// back resolved as the run folder's config.json.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "engine/io/json.h"
#include "engine/ops/loss.h"
#include "models/model.h"
#include "tools/cli/args.h"
#include "tools/media/video_reader.h"

namespace signet::cli {

// One configuration key; its flag is "--" + key with '_' as '-'.
struct ConfigKey {
  enum class Kind { integer, number, text, boolean };
  const char* key;
  Kind kind;
  const char* fallback;  // the default, as JSON text
  const char* help;
};

// Every key of the train configuration, in config.json order.
const std::vector<ConfigKey>& config_keys();
// Prints "  --flag  help (default x)" for every key.
void print_config_help(std::FILE* out);

// A resolved configuration: a JSON object holding every key.
class RunConfig {
 public:
  // All keys at their defaults.
  RunConfig();
  // Applies a JSON object's members; unknown keys and wrong types are UsageErrors.
  void merge(const io::Json& object, const std::string& command, const std::string& origin);
  // Sets key from a flag's text; false when no key has that flag.
  bool set_flag(const std::string& flag, ArgCursor& args);
  std::string text(const std::string& key) const;
  int64_t integer(const std::string& key) const;
  double number(const std::string& key) const;
  bool boolean(const std::string& key) const;
  // Sets or replaces a member (results such as the model's sizes and class names).
  void put(const std::string& key, io::Json value);
  const io::Json& json() const { return json_; }

 private:
  // The stored value of key; an Error when the key is unknown.
  const io::Json& at(const std::string& key) const;
  io::Json json_;
};

// The model sizes of a configuration for inputs of sample_shape and `classes` outputs:
// (F) features, (T, F) sequences, (C, H, W) images, (T, C, H, W) clips.
models::ModelConfig model_config(const RunConfig& config, const Shape& sample_shape,
                                 int64_t classes);
// The loss options of a configuration (class weights, label smoothing) for `classes`.
ClassLossOptions loss_options(const RunConfig& config, int64_t classes, const std::string& command);
// A UsageError for `command` unless name is a registered model.
void check_model_name(const std::string& command, const std::string& name);
// The device named by text ("cpu", "cuda", "cuda:i"). cuda needs a GPU, or SIGNET_CUDA_BACKEND=simt
// to run the CUDA kernels on the host; otherwise a one-line UsageError saying so.
Device parse_device(const std::string& command, const std::string& text);
// The short-clip padding named by text; a UsageError naming --padding for an unknown name.
media::ShortClipPadding parse_padding(const std::string& command, const std::string& text);
// The short-clip padding of the configuration's "padding" key, as parse_padding reads it.
media::ShortClipPadding padding_of(const std::string& command, const RunConfig& config);
// The comma-separated numbers of text (empty text: none); UsageError naming flag otherwise.
std::vector<double> parse_list(const std::string& command, const std::string& flag,
                               const std::string& text);

}  // namespace signet::cli
