// `signet summary MODEL`: layers, output shapes, parameters, FLOPs per sample and the
// activation memory of training at a batch size (models/summary.h).
#include <cstdio>
#include <string>

#include "models/registry.h"
#include "models/summary.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"

namespace signet::cli {
namespace {

// Prints the usage of `signet summary`.
void print_summary_usage() {
  std::printf(
      "usage: signet summary MODEL [options]\n"
      "  layers (dotted name, type, output shape), parameter count, FLOPs per sample\n"
      "  (multiply-add = 2) and the activation memory of training at --batch\n"
      "options (defaults in brackets):\n"
      "  --classes N   [10]    --channels C [1]   --height H [28]  --width W [28]\n"
      "  --frames T    [16]    clip length (clip models, feature_lstm)\n"
      "  --features F  [2]     --hidden N [64]    --layers N [2]\n"
      "  --batch B     [32]    --batch-norm       sign_cnn: BatchNorm2d after each conv\n");
}

// A positive integer flag value, or a UsageError.
int64_t positive(ArgCursor& args, const std::string& flag) {
  int64_t v = parse_int(args.command(), flag, args.value(flag));
  if (v <= 0)
    throw UsageError(args.command(), flag + " must be positive, got " + std::to_string(v));
  return v;
}

}  // namespace

// Parses the flags, builds the model and prints its summary.
int run_summary(int argc, char** argv) {
  ArgCursor args("summary", argc, argv);
  models::ModelConfig c;
  int64_t frames = 16, batch = 32;
  std::string model;
  while (args.more()) {
    std::string a = args.next();
    if (a == "--help" || a == "-h") {
      print_summary_usage();
      return 0;
    }
    if (a == "--classes")
      c.classes = positive(args, a);
    else if (a == "--channels")
      c.channels = positive(args, a);
    else if (a == "--height")
      c.height = positive(args, a);
    else if (a == "--width")
      c.width = positive(args, a);
    else if (a == "--frames")
      frames = positive(args, a);
    else if (a == "--features")
      c.features = positive(args, a);
    else if (a == "--hidden")
      c.hidden = positive(args, a);
    else if (a == "--layers")
      c.layers = positive(args, a);
    else if (a == "--batch")
      batch = positive(args, a);
    else if (a == "--batch-norm")
      c.batch_norm = true;
    else if (a.rfind("-", 0) == 0)
      throw UsageError("summary", "unknown option '" + a + "'");
    else if (model.empty())
      model = a;
    else
      throw UsageError("summary", "unexpected argument '" + a + "'");
  }
  if (model.empty()) throw UsageError("summary", "missing MODEL (signet summary --help)");
  std::string known;
  bool found = false;
  for (const models::ModelEntry& e : models::registry()) {
    found = found || model == e.name;
    known += std::string(known.empty() ? "" : ", ") + e.name;
  }
  if (!found) throw UsageError("summary", "unknown model '" + model + "' (known: " + known + ")");
  auto m = models::create_model(model, c);
  models::ModelSummary s = models::summarize(*m, models::input_shape(model, c, frames, batch));
  std::fputs(models::format_summary(s).c_str(), stdout);
  return 0;
}

}  // namespace signet::cli
