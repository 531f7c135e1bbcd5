// `signet eval RUN_DIR_or_CHECKPOINT`: the metrics and confusion matrix of a trained model on
// a split of a data set (by default the run's own data and its test split).
#include <cstdio>

#include "engine/optim/sgd.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/datasets.h"
#include "tools/cli/run_folder.h"

namespace signet::cli {
namespace {

// Prints the usage.
void usage(std::FILE* f) {
  std::fprintf(
      f,
      "usage: signet eval RUN_DIR_or_CHECKPOINT [--data PATH] [--split test|val|train]\n"
      "                   [--batch N] [--device cpu|cuda]\n"
      "  RUN_DIR: its best.safetensors (last without validation); a checkpoint needs config.json "
      "beside it\n"
      "  --data   defaults to the run's data\n");
}

}  // namespace

int run_eval(int argc, char** argv) {
  std::string target, data_path, split = "test", device = "cpu";
  int64_t batch = 64;
  ArgCursor args("eval", argc, argv);
  while (args.more()) {
    std::string a = args.next();
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--data") {
      data_path = args.value(a);
    } else if (a == "--split") {
      split = args.value(a);
    } else if (a == "--device") {
      device = args.value(a);
    } else if (a == "--batch") {
      batch = parse_int("eval", a, args.value(a));
    } else if (a.rfind("--", 0) == 0 || !target.empty()) {
      throw UsageError("eval", "unknown argument '" + a + "'");
    } else {
      target = a;
    }
  }
  if (target.empty()) throw UsageError("eval", "a run folder or checkpoint is required");
  if (split != "test" && split != "val" && split != "train")
    throw UsageError("eval", "--split must be test, val or train, not '" + split + "'");
  if (batch < 1) throw UsageError("eval", "--batch must be positive");
  Device dev = parse_device("eval", device);
  OpenedRun run = open_run("eval", target);
  run.model->to(dev);
  DataOptions d;
  d.path = data_path.empty() ? run.config.text("data") : data_path;
  d.format = data_path.empty() ? run.config.text("data_format") : "auto";
  d.frames = run.config.integer("frames");
  d.size = run.config.integer("size");
  d.val_fraction = run.config.number("val_fraction");
  d.seed = static_cast<uint64_t>(run.config.integer("seed"));
  d.padding = padding_of("eval", run.config);
  std::vector<std::string> want = {split};
  if (split == "val") want = {"train", "val"};  // a carved validation part needs train
  Splits s = load_splits("eval", d, want);
  std::shared_ptr<const data::Dataset> ds = split == "test"  ? s.test
                                            : split == "val" ? s.val
                                                             : s.train;
  if (!ds)
    throw UsageError("eval", "the run has no " + split + " split (trained with --val-fraction 0?)");
  int64_t classes = static_cast<int64_t>(run.class_names.size());
  SIGNET_CHECK(s.classes <= classes, "eval: the data has labels up to ", s.classes - 1,
               " but the model has ", classes, " classes");
  data::LoaderOptions lo;
  lo.batch_size = batch;
  lo.shuffle = false;
  lo.threads = 1;
  data::Loader loader(ds, lo);
  optim::Sgd unused({optim::group_of(*run.model)}, {});
  TrainerOptions to;
  to.device = dev;
  to.loss = loss_options(run.config, classes, "eval");  // the loss the run reported
  Trainer trainer(*run.model, unused, to);
  std::printf("signet eval: %s (%s) on the %s split of %s\n", run.checkpoint.c_str(),
              run.config.text("model").c_str(), split.c_str(), d.path.c_str());
  print_metrics(split.c_str(), trainer.evaluate(loader, classes), run.class_names);
  return 0;
}

}  // namespace signet::cli
