// `signet demo`: the main job on built-in data. By default it generates the synthetic gesture
// video set (if absent), trains the ConvLSTM classifier on it with the trainer, prints test
// top-1/top-5 and the confusion matrix, saves the model and log, and predicts one held-out
// video. `--data spiral` trains a small MLP on 2-D spirals instead (no FFmpeg needed).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "engine/autograd.h"
#include "engine/data/tensor_dataset.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "engine/optim/adam.h"
#include "engine/random.h"
#include "engine/trainer.h"
#include "models/registry.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/datasets.h"
#include "tools/cli/progress.h"
#include "tools/media/clip_dataset.h"
#include "tools/media/gesture_synth.h"
#include "tools/media/sign_mnist.h"

namespace signet::cli {
namespace {

namespace fs = std::filesystem;

// The demo's command line.
struct DemoArgs {
  std::string data = "gestures";
  std::string model = "convlstm";  // gestures: convlstm or frame_cnn (the no-temporal baseline)
  std::string out = "signet-demo";
  int64_t epochs = 0;  // 0: the data set's default
  uint64_t seed = 1;
};

// Prints the usage.
void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: signet demo [--data gestures|mnist|spiral] [--model convlstm|frame_cnn] "
               "[--epochs N]\n"
               "                   [--out DIR] [--seed S]\n"
               "  gestures (default): synthetic gesture videos -> convlstm\n"
               "  spiral: 2-D spirals -> a small MLP (no video support needed)\n");
}

// Three interleaved spiral arms in 2-D: points (n*3, 2) and labels (n*3) as i64.
std::pair<Tensor, Tensor> spirals(int64_t n, uint64_t seed) {
  RngStream noise = init_stream(seed);
  Tensor jitter = randn({3 * n, 2}, DType::f32, &noise);
  const float* j = jitter.data<float>();
  std::vector<float> xy(3 * n * 2);
  std::vector<int64_t> labels(3 * n);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < n; ++i) {
      int64_t k = c * n + i;
      double r = static_cast<double>(i) / static_cast<double>(n);
      double angle = 4.0 * r + 2.0944 * static_cast<double>(c);
      xy[2 * k] = static_cast<float>(r * std::sin(angle) + 0.05 * j[2 * k]);
      xy[2 * k + 1] = static_cast<float>(r * std::cos(angle) + 0.05 * j[2 * k + 1]);
      labels[k] = c;
    }
  return {from_vector(xy, {3 * n, 2}), from_vector(labels, {3 * n})};
}

// A loader over ds: shuffled for training, in order otherwise.
std::unique_ptr<data::Loader> make_loader(std::shared_ptr<const data::Dataset> ds, int64_t batch,
                                          bool shuffle, uint64_t seed) {
  data::LoaderOptions o;
  o.batch_size = batch;
  o.shuffle = shuffle;
  o.seed = seed;
  o.threads = 1;
  return std::make_unique<data::Loader>(std::move(ds), o);
}

// Prints the confusion matrix with class names down the side.
void print_confusion(const Tensor& confusion, const std::vector<std::string>& names) {
  int64_t c = confusion.size(0);
  std::vector<int64_t> m = confusion.to_vector<int64_t>();
  std::printf("confusion matrix (rows: true class, columns: predicted)\n%14s", "");
  for (int64_t j = 0; j < c; ++j) std::printf("%5lld", static_cast<long long>(j));
  std::printf("\n");
  for (int64_t i = 0; i < c; ++i) {
    std::printf("%2lld %-11s", static_cast<long long>(i), names[i].c_str());
    for (int64_t j = 0; j < c; ++j) std::printf("%5lld", static_cast<long long>(m[i * c + j]));
    std::printf("\n");
  }
}

// Trains the model with Adam (the global gradient norm clipped to clip_norm when > 0) through
// the trainer and reports on the test split.
EvalResult train_and_test(models::Model& model, std::shared_ptr<const data::Dataset> train,
                          std::shared_ptr<const data::Dataset> val,
                          std::shared_ptr<const data::Dataset> test, int64_t classes,
                          int64_t epochs, int64_t batch, double lr, const DemoArgs& a,
                          const std::string& run_dir, double clip_norm = 0) {
  optim::AdamOptions ao;
  ao.lr = lr;
  optim::Adam adam({optim::group_of(model)}, ao);
  TrainerOptions to;
  to.clip_norm = clip_norm;
  to.epochs = epochs;
  to.seed = a.seed;
  to.run_dir = run_dir;
  to.on_progress = progress_printer();
  to.on_epoch_end = [](const EpochLog& r) {
    std::printf("epoch %lld: loss %.4f acc %.3f val_loss %.4f val_acc %.3f (%.1f s)\n",
                static_cast<long long>(r.epoch), r.loss, r.acc, r.val_loss, r.val_acc, r.seconds);
  };
  Trainer trainer(model, adam, to);
  auto tl = make_loader(train, batch, true, a.seed), vl = make_loader(val, batch, false, a.seed);
  trainer.fit(*tl, *vl);
  // The test split is measured on the checkpoint with the best validation loss.
  trainer.load_checkpoint(run_dir + "/best.safetensors");
  std::printf("testing %s/best.safetensors (epoch %lld)\n", run_dir.c_str(),
              static_cast<long long>(trainer.epoch() - 1));
  auto testl = make_loader(test, batch, false, a.seed);
  EvalResult t = trainer.evaluate(*testl, classes);
  std::printf("test: top-1 %.3f  top-5 %.3f  loss %.4f  macro-F1 %.3f  (%lld samples)\n", t.top1,
              t.top5, t.loss, t.macro_f1, static_cast<long long>(t.samples));
  return t;
}

// The hand-shape CNN on the real digits written by `signet data mnist`.
int mnist_demo(const DemoArgs& a) {
  std::string dir = a.out + "/mnist";
  if (!fs::exists(dir + "/sign_mnist_train.csv")) {
    std::string out = dir;
    const char* args[] = {"data", "mnist", "--out", out.c_str()};
    int rc = run_data(4, const_cast<char**>(args));
    if (rc != 0) return rc;
  }
  auto train_all = std::make_shared<UnitFloat>(std::make_shared<media::SignMnistDataset>(
      media::read_sign_mnist_csv(dir + "/sign_mnist_train.csv")));
  auto test = std::make_shared<UnitFloat>(std::make_shared<media::SignMnistDataset>(
      media::read_sign_mnist_csv(dir + "/sign_mnist_test.csv")));
  // Validation: a seeded tenth of the training part; the test split is only evaluated.
  RngStream shuffle = shuffle_stream(a.seed, 0);
  std::vector<int64_t> order(static_cast<size_t>(train_all->size()));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle.uniform_int(i)]);
  size_t n_val = order.size() / 10;
  auto val = std::make_shared<Subset>(train_all,
                                      std::vector<int64_t>(order.begin(), order.begin() + n_val));
  auto train =
      std::make_shared<Subset>(train_all, std::vector<int64_t>(order.begin() + n_val, order.end()));
  manual_seed(a.seed);
  models::ModelConfig c;
  c.classes = 10;
  c.channels = 1;
  c.height = c.width = 28;
  c.dropout = 0.5;
  auto model = models::create_model("sign_cnn", c);
  std::printf("signet demo: sign_cnn on %lld digits (validation %lld, test %lld)\n",
              static_cast<long long>(train->size()), static_cast<long long>(val->size()),
              static_cast<long long>(test->size()));
  EvalResult t = train_and_test(*model, train, val, test, 10, a.epochs > 0 ? a.epochs : 15, 64,
                                1e-3, a, a.out + "/sign_cnn-run");
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) names.push_back("digit " + std::to_string(i));
  print_confusion(t.confusion, names);
  return 0;
}

// The foundation demo: an MLP on spirals.
int spiral_demo(const DemoArgs& a) {
  manual_seed(7);
  auto [x, y] = spirals(200, 1);
  auto [vx, vy] = spirals(100, 2);
  auto [tx, ty] = spirals(100, 3);
  models::ModelConfig c;
  c.features = 2;
  c.hidden = 64;
  c.layers = 2;
  c.classes = 3;
  auto model = models::create_model("mlp", c);
  std::printf("signet demo: mlp 2-64-64-3 on 600 spiral points (3 classes), Adam\n");
  EvalResult t = train_and_test(*model, std::make_shared<data::TensorDataset>(x, y),
                                std::make_shared<data::TensorDataset>(vx, vy),
                                std::make_shared<data::TensorDataset>(tx, ty), 3,
                                a.epochs > 0 ? a.epochs : 30, 32, 1e-2, a, a.out + "/spiral-run");
  print_confusion(t.confusion, {"arm 0", "arm 1", "arm 2"});
  return 0;
}

// The labelled files of one split written by write_gesture_split (label = index % classes).
std::vector<media::LabelledVideo> gesture_files(const std::string& dir, const std::string& split,
                                                int64_t count, int classes) {
  std::vector<media::LabelledVideo> out;
  for (int64_t i = 0; i < count; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "%s_%05lld.mp4", split.c_str(), static_cast<long long>(i));
    int64_t label = i % classes;
    out.push_back(
        {dir + "/" + split + "/" + media::gesture_class_name(static_cast<int>(label)) + "/" + name,
         label});
  }
  return out;
}

// The main demo: synthetic gesture videos -> convlstm.
int gesture_demo(const DemoArgs& a) {
  media::SynthOptions so;
  so.size = 32;
  so.frames = 12;
  const char* splits[3] = {"train", "val", "test"};
  const int64_t counts[3] = {500, 100, 200};
  std::string dir = a.out + "/gestures";
  std::string stamp = dir + "/demo-set.txt";
  std::string want =
      "size 32 frames 12 classes 10 counts 500 100 200 seed " + std::to_string(a.seed);
  std::string have;
  if (std::ifstream in{stamp}) std::getline(in, have);
  if (have != want) {
    std::printf("generating the gesture set in %s (%lld/%lld/%lld clips, %dx%d, %d frames)\n",
                dir.c_str(), static_cast<long long>(counts[0]), static_cast<long long>(counts[1]),
                static_cast<long long>(counts[2]), so.size, so.size, so.frames);
    fs::remove_all(dir);
    for (int s = 0; s < 3; ++s) {
      media::write_gesture_split(dir, splits[s], so, media::gesture_split_seed(a.seed, s),
                                 counts[s], 2, [&](int64_t done) {
                                   if (done == counts[s])
                                     std::printf("  %s: %lld clips\n", splits[s],
                                                 static_cast<long long>(done));
                                 });
    }
    std::ofstream(stamp) << want << "\n";
  } else {
    std::printf("using the gesture set in %s\n", dir.c_str());
  }
  media::ClipOptions co;
  co.frames = so.frames;
  co.size = so.size;
  std::shared_ptr<media::ClipDataset> sets[3];
  for (int s = 0; s < 3; ++s)
    sets[s] = std::make_shared<media::ClipDataset>(
        gesture_files(dir, splits[s], counts[s], so.classes), co);
  manual_seed(a.seed);
  models::ModelConfig c;
  c.classes = so.classes;
  c.channels = 3;
  c.height = c.width = so.size;
  c.hidden = 32;
  c.layers = 1;
  auto model = models::create_model(a.model, c);
  std::printf("signet demo: %s on %lld training clips (10 motions)\n", a.model.c_str(),
              static_cast<long long>(sets[0]->size()));
  std::string run = a.out + "/" + a.model + "-run";
  // 60 epochs, gradient norm clipped to 1. At 40 unclipped epochs the result hung on where
  // training stopped: validation accuracy swung by up to 0.17 late in training, and two builds
  // whose kernels round differently ended at 0.925 and 0.780 test top-1; 40 clipped epochs were
  // still climbing (0.880), 60 settle at 0.90-0.93 validation from epoch 40 (test 0.935, 3 min 40 s
  // of training on 2 cores, 2026-12-01).
  EvalResult t = train_and_test(*model, sets[0], sets[1], sets[2], so.classes,
                                a.epochs > 0 ? a.epochs : 60, 16, 5e-3, a, run, 1.0);
  std::vector<std::string> names;
  for (int i = 0; i < so.classes; ++i) names.push_back(media::gesture_class_name(i));
  print_confusion(t.confusion, names);
  std::map<std::string, Tensor> weights;
  for (auto& [name, p] : model->named_parameters()) weights[name] = p.detach();
  io::write_safetensors(run + "/model.safetensors", weights);
  std::printf("saved %s/model.safetensors and %s/log.csv\n", run.c_str(), run.c_str());
  // Predict one held-out test video.
  model->train(false);
  NoGradGuard no_grad;
  RngStream rng = dropout_stream(a.seed, 0);
  data::Sample s = sets[2]->get(0);
  Tensor probs = softmax(model->forward(s.input.unsqueeze(0), rng), 1);
  std::vector<float> p = probs.to_vector<float>();
  std::printf("predict %s (true: %s)\n", sets[2]->path(0).c_str(),
              names[static_cast<size_t>(s.label)].c_str());
  std::vector<int> order(p.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(), [&](int x, int y) { return p[x] > p[y]; });
  for (int k = 0; k < 5; ++k)
    std::printf("  %d. %-12s %.3f\n", k + 1, names[order[k]].c_str(), p[order[k]]);
  return 0;
}

}  // namespace

int run_demo(int argc, char** argv) {
  DemoArgs a;
  ArgCursor args("demo", argc, argv);
  while (args.more()) {
    std::string arg = args.next();
    if (arg == "--data") {
      a.data = args.value(arg);
    } else if (arg == "--model") {
      a.model = args.value(arg);
    } else if (arg == "--epochs") {
      a.epochs = parse_int("demo", arg, args.value(arg));
    } else if (arg == "--out") {
      a.out = args.value(arg);
    } else if (arg == "--seed") {
      a.seed = static_cast<uint64_t>(parse_int("demo", arg, args.value(arg)));
    } else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else {
      throw UsageError("demo", "unknown argument '" + arg + "'");
    }
  }
  if (a.data != "spiral" && a.data != "gestures" && a.data != "mnist")
    throw UsageError("demo", "unknown data '" + a.data + "' (gestures, mnist, spiral)");
  if (a.data == "gestures" && a.model != "convlstm" && a.model != "frame_cnn")
    throw UsageError("demo", "--model " + a.model + " is not a clip model (convlstm, frame_cnn)");
  if (a.epochs < 0) throw UsageError("demo", "--epochs must not be negative");
  if (a.data == "spiral") return spiral_demo(a);
  if (a.data == "mnist") return mnist_demo(a);
  return gesture_demo(a);
}

}  // namespace signet::cli
