// `signet train`: trains a registered model from flags or a JSON config (flags override the
// file), writes the run folder (config.json, log.csv, best/last.safetensors) and reports the
// test split on the BEST checkpoint.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "engine/data/augment.h"
#include "engine/io/json.h"
#include "engine/io/safetensors.h"
#include "engine/optim/adam.h"
#include "engine/optim/lr_scheduler.h"
#include "engine/optim/rmsprop.h"
#include "engine/optim/sgd.h"
#include "engine/random.h"
#include "engine/runtime_info.h"
#include "models/registry.h"
#include "models/transfer.h"
#include "tools/cli/commands.h"
#include "tools/cli/datasets.h"
#include "tools/cli/progress.h"
#include "tools/cli/run_folder.h"

namespace signet::cli {
namespace {

namespace fs = std::filesystem;

// Prints the usage with every key.
void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: signet train --data PATH [--model NAME] [--config run.json] [options]\n"
               "  writes --out DIR: config.json, log.csv, best.safetensors, last.safetensors;\n"
               "  every option is also a key of the JSON config (--clip-norm -> clip_norm)\n"
               "  --config FILE          JSON object of keys; flags override it\n");
  print_config_help(f);
}

// The configuration from --resume's config.json, --config and the flags, in that order.
RunConfig resolve(int argc, char** argv, bool* help) {
  RunConfig cfg;
  std::string config_file, resume;
  ArgCursor scan("train", argc, argv);
  while (scan.more()) {
    std::string a = scan.next();
    if (a == "--config") config_file = scan.value(a);
    if (a == "--resume") resume = scan.value(a);
  }
  auto merge_file = [&](const std::string& path) {
    io::Json j;
    try {
      j = io::parse_json(read_text(path), path);
    } catch (const Error& e) {
      throw UsageError("train", e.what());
    }
    cfg.merge(j, "train", path);
  };
  if (!resume.empty()) merge_file(resume + "/config.json");
  if (!config_file.empty()) merge_file(config_file);
  if (!resume.empty()) cfg.put("out", io::Json::of(resume));
  ArgCursor args("train", argc, argv);
  while (args.more()) {
    std::string a = args.next();
    if (a == "--help" || a == "-h") {
      *help = true;
      return cfg;
    }
    if (a == "--config") {
      args.value(a);
      continue;
    }
    if (!cfg.set_flag(a, args)) throw UsageError("train", "unknown argument '" + a + "'");
  }
  return cfg;
}

// The --freeze prefixes (frozen) and --lr-mult PREFIX=F rules (lr * F), in that order.
std::vector<models::GroupRule> group_rules(const RunConfig& c) {
  std::vector<models::GroupRule> rules;
  auto split = [](const std::string& text) {
    std::vector<std::string> parts;
    for (size_t start = 0; start < text.size();) {
      size_t comma = std::min(text.find(',', start), text.size());
      parts.push_back(text.substr(start, comma - start));
      start = comma + 1;
    }
    return parts;
  };
  for (const std::string& prefix : split(c.text("freeze"))) {
    if (prefix.empty()) throw UsageError("train", "--freeze has an empty prefix");
    rules.push_back({prefix, true, std::nullopt});
  }
  for (const std::string& rule : split(c.text("lr_mult"))) {
    size_t eq = rule.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError("train", "--lr-mult expects PREFIX=F[,PREFIX=F], got '" + rule + "'");
    double f = parse_double("train", "--lr-mult", rule.substr(eq + 1));
    if (f < 0) throw UsageError("train", "--lr-mult factors must be non-negative");
    rules.push_back({rule.substr(0, eq), false, c.number("lr") * f});
  }
  return rules;
}

// Whether the --augment list names "time" (every name checked as the data pipeline will).
bool has_time_augmentation(const std::string& list) {
  const std::vector<std::string> names = data::augmentation_names(list);
  return std::find(names.begin(), names.end(), "time") != names.end();
}

// Prints the caching allocator's statistics of a cuda device (peak, cached, hits) after training.
void report_device_memory(Device device) {
  if (device.is_cpu() || !CudaAllocator::existing(device.index)) return;
  std::printf("%s memory: %s\n", device.str().c_str(),
              describe_cuda_memory(CudaAllocator::existing(device.index)->stats()).c_str());
}

// Checks the names and ranges of the configuration before any work.
void validate(const RunConfig& c) {
  if (c.text("data").empty()) throw UsageError("train", "--data is required");
  check_model_name("train", c.text("model"));
  std::string o = c.text("optimizer");
  if (o != "sgd" && o != "adam" && o != "adamw" && o != "rmsprop")
    throw UsageError("train", "unknown optimizer '" + o + "' (sgd, adam, adamw, rmsprop)");
  std::string s = c.text("schedule");
  if (s != "none" && s != "step" && s != "multistep" && s != "exp" && s != "cosine" &&
      s != "plateau")
    throw UsageError("train",
                     "unknown schedule '" + s + "' (none, step, multistep, exp, cosine, plateau)");
  if (c.integer("epochs") < 1 || c.integer("batch") < 1 || c.number("lr") <= 0)
    throw UsageError("train", "--epochs, --batch and --lr must be positive");
  if (c.number("val_fraction") < 0 || c.number("val_fraction") >= 1)
    throw UsageError("train", "--val-fraction must be in [0, 1)");
  if (c.number("val_fraction") == 0 &&
      (c.integer("patience") > 0 || c.text("schedule") == "plateau"))
    throw UsageError("train",
                     "--val-fraction 0 (no validation) leaves nothing for --patience or the "
                     "plateau schedule to watch");
  try {
    data::make_augmentation(c.text("augment"), c.integer("frames"));
  } catch (const Error& e) {
    throw UsageError("train", std::string("--augment: ") + e.what());
  }
  media::ShortClipPadding pad = padding_of("train", c);
  if (pad == media::ShortClipPadding::zeros && has_time_augmentation(c.text("augment")))
    throw UsageError("train",
                     "--augment time resamples the frames and would move the zero padding of "
                     "--padding zeros; use another padding or drop time");
  std::string m = c.text("model");
  if (c.integer("tbptt") < 0) throw UsageError("train", "--tbptt must be 0 (off) or positive");
  if (c.integer("tbptt") > 0 && m != "feature_lstm" && m != "cnn_lstm" && m != "convlstm")
    throw UsageError(
        "train", "--tbptt: model '" + m + "' is not recurrent (feature_lstm, cnn_lstm, convlstm)");
  if (c.text("tbptt_step") != "chunk" && c.text("tbptt_step") != "sequence")
    throw UsageError("train",
                     "--tbptt-step expects chunk or sequence, got '" + c.text("tbptt_step") + "'");
  if (c.integer("new_classes") < 0 ||
      (c.integer("new_classes") > 0 && c.text("init_weights").empty()))
    throw UsageError("train", "--new-classes N needs --init-weights and N > 0");
  group_rules(c);
  parse_device("train", c.text("device"));
  parse_list("train", "--class-weights", c.text("class_weights"));
  parse_list("train", "--milestones", c.text("milestones"));
}

// The optimiser named in the configuration over the model's parameters, grouped by the
// --freeze and --lr-mult rules.
std::unique_ptr<optim::Optimizer> make_optimizer(const RunConfig& c, models::Model& model) {
  std::string o = c.text("optimizer");
  std::vector<optim::ParamGroup> groups;
  try {
    groups = models::param_groups(model, group_rules(c));
  } catch (const Error& e) {
    throw UsageError("train", std::string("--freeze / --lr-mult: ") + e.what());
  }
  if (o == "sgd") {
    optim::SgdOptions so;
    so.lr = c.number("lr");
    so.momentum = c.number("momentum");
    so.weight_decay = c.number("weight_decay");
    so.nesterov = c.boolean("nesterov");
    return std::make_unique<optim::Sgd>(groups, so);
  }
  if (o == "rmsprop") {
    optim::RmspropOptions ro;
    ro.lr = c.number("lr");
    ro.alpha = c.number("alpha");
    ro.eps = c.number("eps");
    ro.momentum = c.number("momentum");
    ro.weight_decay = c.number("weight_decay");
    return std::make_unique<optim::Rmsprop>(groups, ro);
  }
  optim::AdamOptions ao;
  ao.lr = c.number("lr");
  ao.beta1 = c.number("beta1");
  ao.beta2 = c.number("beta2");
  ao.eps = c.number("eps");
  ao.weight_decay = c.number("weight_decay");
  if (o == "adamw") return std::make_unique<optim::AdamW>(groups, ao);
  return std::make_unique<optim::Adam>(groups, ao);
}

// The epoch schedule of the configuration, or null for none and plateau.
std::unique_ptr<optim::LrScheduler> make_schedule(const RunConfig& c, optim::Optimizer& opt) {
  std::string s = c.text("schedule");
  if (s == "step")
    return std::make_unique<optim::StepLr>(opt, c.integer("step_size"), c.number("gamma"));
  if (s == "multistep") {
    std::vector<int64_t> m;
    for (double v : parse_list("train", "--milestones", c.text("milestones")))
      m.push_back(static_cast<int64_t>(v));
    return std::make_unique<optim::MultiStepLr>(opt, m, c.number("gamma"));
  }
  if (s == "exp") return std::make_unique<optim::ExponentialLr>(opt, c.number("gamma"));
  if (s == "cosine")
    return std::make_unique<optim::CosineWarmupLr>(opt, c.integer("warmup"), c.integer("epochs"));
  return nullptr;
}

// The model of the configuration for the data of s; with --init-weights, built for the class
// count of the file's head (the model's last parameter), loaded (a report of the names; a
// checkpoint's "__" training-state keys are skipped) and, with --new-classes N, given a fresh
// head of N classes.
std::shared_ptr<models::Model> build_model(const RunConfig& c, const Splits& s) {
  std::string init = c.text("init_weights");
  int64_t new_classes = c.integer("new_classes");
  if (new_classes > 0 && new_classes < s.classes)
    throw UsageError("train", "--new-classes " + std::to_string(new_classes) +
                                  " is fewer than the data's " + std::to_string(s.classes) +
                                  " classes");
  if (init.empty() || !c.text("resume").empty())  // a resumed run's checkpoint has the weights
    return models::create_model(
        c.text("model"),
        model_config(c, s.sample_shape, new_classes > 0 ? new_classes : s.classes));
  auto model = models::create_model(c.text("model"), model_config(c, s.sample_shape, s.classes));
  std::map<std::string, Tensor> weights;
  try {
    for (auto& [key, t] : io::read_safetensors(init).tensors)
      if (key.rfind("__", 0) != 0)
        weights[key] = t;  // a checkpoint's training state is not weights
  } catch (const Error& e) {
    throw UsageError("train", std::string("--init-weights: ") + e.what());
  }
  const std::string head = model->named_parameters().back().first;
  auto it = weights.find(head);
  if (it != weights.end() && it->second.dim() >= 1 && it->second.size(0) != s.classes) {
    if (new_classes == 0)
      throw UsageError("train", "--init-weights: the head '" + head + "' has " +
                                    std::to_string(it->second.size(0)) + " classes, the data " +
                                    std::to_string(s.classes) + " (use --new-classes " +
                                    std::to_string(s.classes) + ")");
    model =
        models::create_model(c.text("model"), model_config(c, s.sample_shape, it->second.size(0)));
  }
  models::LoadReport r = models::load_weights(*model, weights, c.boolean("strict_weights"));
  std::printf("init weights %s: %zu loaded, %zu missing, %zu unexpected\n", init.c_str(),
              r.loaded.size(), r.missing.size(), r.unexpected.size());
  for (const std::string& n : r.missing) std::printf("  missing: %s\n", n.c_str());
  for (const std::string& n : r.unexpected) std::printf("  unexpected: %s\n", n.c_str());
  if (new_classes > 0) model->reset_head(new_classes);
  return model;
}

// A loader over ds: shuffled and augmented (--augment) for training, in order otherwise.
std::unique_ptr<data::Loader> loader(std::shared_ptr<const data::Dataset> ds, const RunConfig& c,
                                     bool train) {
  const bool shuffle = train;
  data::LoaderOptions o;
  o.batch_size = c.integer("batch");
  o.shuffle = shuffle;
  o.seed = static_cast<uint64_t>(c.integer("seed"));
  o.threads = static_cast<int>(c.integer("threads"));
  return std::make_unique<data::Loader>(
      std::move(ds), o,
      train ? data::make_augmentation(c.text("augment"), c.integer("frames")) : nullptr);
}

}  // namespace

int run_train(int argc, char** argv) {
  bool help = false;
  RunConfig cfg = resolve(argc, argv, &help);
  if (help) {
    usage(stdout);
    return 0;
  }
  validate(cfg);
  DataOptions d;
  d.path = cfg.text("data");
  d.format = cfg.text("data_format");
  d.frames = cfg.integer("frames");
  d.size = cfg.integer("size");
  d.val_fraction = cfg.number("val_fraction");
  d.seed = static_cast<uint64_t>(cfg.integer("seed"));
  d.cache_dir = cfg.text("cache");
  d.padding = padding_of("train", cfg);
  Splits s = load_splits("train", d, {"train", "val", "test"});
  int64_t classes = cfg.integer("new_classes") > 0 ? cfg.integer("new_classes") : s.classes;
  std::vector<std::string> names = complete_names(s.class_names, classes);
  ClassLossOptions loss = loss_options(cfg, classes, "train");
  uint64_t seed = static_cast<uint64_t>(cfg.integer("seed"));
  manual_seed(seed);
  std::shared_ptr<models::Model> model = build_model(cfg, s);
  Device device = parse_device("train", cfg.text("device"));
  model->to(device);
  std::unique_ptr<optim::Optimizer> opt = make_optimizer(cfg, *model);
  std::unique_ptr<optim::LrScheduler> schedule = make_schedule(cfg, *opt);
  std::unique_ptr<optim::ReduceLrOnPlateau> plateau;
  if (cfg.text("schedule") == "plateau") {
    optim::PlateauOptions po;
    po.patience = cfg.integer("plateau_patience");
    po.factor = cfg.number("plateau_factor");
    plateau = std::make_unique<optim::ReduceLrOnPlateau>(*opt, po);
  }
  std::string out = cfg.text("out");
  fs::create_directories(out);
  if (cfg.text("resume").empty())  // a new run replaces an earlier run's files in the folder
    for (const char* f : {"log.csv", "best.safetensors", "last.safetensors"})
      fs::remove(out + "/" + f);
  cfg.put("classes", io::Json::of(classes));
  io::Json jn = io::Json::array(), js = io::Json::array();
  for (const std::string& n : names) jn.items.push_back(io::Json::of(n));
  for (int64_t v : s.sample_shape) js.items.push_back(io::Json::of(v));
  cfg.put("class_names", jn);
  cfg.put("input_shape", js);
  std::ofstream(out + "/config.json") << io::dump_json(cfg.json(), 2) << "\n";

  TrainerOptions to;
  to.epochs = cfg.integer("epochs");
  to.seed = seed;
  to.clip_norm = cfg.number("clip_norm");
  to.patience = cfg.integer("patience");
  to.run_dir = out;
  to.loss = loss;
  to.tbptt = cfg.integer("tbptt");
  to.tbptt_step_per_chunk = cfg.text("tbptt_step") == "chunk";
  to.device = device;
  to.schedule = schedule.get();
  to.plateau = plateau.get();
  to.on_progress = progress_printer();
  to.on_epoch_end = [&](const EpochLog& r) {
    std::printf("epoch %lld: loss %.4f acc %.4f val_loss %.4f val_acc %.4f lr %.3g (%.1f s)\n",
                static_cast<long long>(r.epoch), r.loss, r.acc, r.val_loss, r.val_acc, r.lr,
                r.seconds);
  };
  Trainer trainer(*model, *opt, to);
  if (!cfg.text("resume").empty()) {
    std::string last = cfg.text("resume") + "/last.safetensors";
    trainer.load_checkpoint(last);
    std::printf("resuming %s at epoch %lld\n", last.c_str(),
                static_cast<long long>(trainer.epoch()));
  }
  std::printf("signet train: %s on %lld samples (validation %lld, %lld classes) -> %s\n",
              cfg.text("model").c_str(), static_cast<long long>(s.train->size()),
              static_cast<long long>(s.val ? s.val->size() : 0), static_cast<long long>(s.classes),
              out.c_str());
  auto tl = loader(s.train, cfg, true);
  if (s.val)
    trainer.fit(*tl, *loader(s.val, cfg, false));
  else
    trainer.fit(*tl);
  report_device_memory(device);
  if (!s.test) {
    report_bad_frames(s);
    std::printf("no test split in %s: no test metrics\n", d.path.c_str());
    return 0;
  }
  // The test split is measured once: on the checkpoint with the best validation loss, or on the
  // last epoch when there is no validation split (--val-fraction 0).
  std::string measured = out + (s.val ? "/best.safetensors" : "/last.safetensors");
  trainer.load_checkpoint(measured);
  std::printf("test metrics of %s (epoch %lld)\n", measured.c_str(),
              static_cast<long long>(trainer.epoch() - 1));
  auto testl = loader(s.test, cfg, false);
  print_metrics("test", trainer.evaluate(*testl, classes), names);
  report_bad_frames(s);
  return 0;
}

}  // namespace signet::cli
