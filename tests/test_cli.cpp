// End-to-end checks of the `signet` command line on tiny generated data: train writes its run
// folder, eval prints a confusion matrix, predict writes probabilities, bad arguments give one
// line and exit code 2, every command answers --help. The binary is $SIGNET_BIN or
// ../tools/signet beside this test's build folder.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/cuda_device.h"
#include "engine/io/json.h"
#include "engine/io/npy.h"
#include "engine/io/safetensors.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace signet {
namespace {

namespace fs = std::filesystem;

// What one run of the binary printed (stdout and stderr together) and its exit code.
struct CliRun {
  int code = -1;
  std::string output;
};

// The signet binary: $SIGNET_BIN, else ../tools/signet relative to this test program.
std::string signet_binary() {
  if (const char* env = std::getenv("SIGNET_BIN")) return env;
  return (fs::canonical("/proc/self/exe").parent_path().parent_path() / "tools" / "signet")
      .string();
}

// Runs `signet args` (or, with binary false, the command line args itself) through the shell
// and captures its output and exit code.
CliRun signet(const std::string& args, bool binary = true) {
  CliRun r;
  if (!fs::is_regular_file(signet_binary())) {
    r.output = signet_binary() + " is missing: build the signet target (or set SIGNET_BIN)";
    return r;
  }
  std::string cmd = (binary ? signet_binary() + " " : std::string()) + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The whole text of a file.
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Lines in text.
int64_t line_count(const std::string& text) {
  int64_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

// Three separable classes of 4-feature points: x = one-hot(label) * 2 + noise.
void write_points(const std::string& dir, const std::string& split, int64_t n, uint64_t seed) {
  RngStream rng = init_stream(seed);
  std::vector<float> x(static_cast<size_t>(n * 4));
  rng.uniform(x.data(), n * 4, -0.15f, 0.15f);
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    y[static_cast<size_t>(i)] = i % 3;
    x[static_cast<size_t>(i * 4 + i % 3)] += 2.0f;
  }
  io::write_npy(dir + "/" + split + "_x.npy", from_vector(x, {n, 4}));
  io::write_npy(dir + "/" + split + "_y.npy", from_vector(y, {n}));
}

// The same points as sequences of 5 steps (step t: the point scaled by (t + 1) / 5).
void write_sequences(const std::string& dir, const std::string& split, int64_t n, uint64_t seed) {
  write_points(dir, split, n, seed);
  std::vector<float> p = io::read_npy(dir + "/" + split + "_x.npy").to_vector<float>();
  std::vector<float> x;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < 5; ++t)
      for (int64_t f = 0; f < 4; ++f)
        x.push_back(p[static_cast<size_t>(i * 4 + f)] * static_cast<float>(t + 1) / 5.0f);
  io::write_npy(dir + "/" + split + "_x.npy", from_vector(x, {n, 5, 4}));
}

// The named tensor of a safetensors file as floats.
std::vector<float> tensor_of(const std::string& path, const std::string& name) {
  return io::read_safetensors(path).tensors.at(name).to(DType::f32).to_vector<float>();
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = (fs::temp_directory_path() / ("signet_cli_" + std::to_string(getpid()))).string();
    fs::create_directories(root_ + "/data");
    write_points(root_ + "/data", "train", 48, 1);
    write_points(root_ + "/data", "test", 12, 2);
    std::ofstream(root_ + "/data/classes.txt") << "left\nright\nup\n";
    train_ = signet("train --model mlp --data " + root_ + "/data --epochs 2 --batch 8 " +
                    "--hidden 8 --layers 1 --optimizer sgd --lr 0.1 --momentum 0.9 " +
                    "--schedule step --step-size 1 --clip-norm 5 --label-smoothing 0.05 --out " +
                    root_ + "/run");
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }
  // The mlp of the suite (4 -> 8 -> 3) trained on its points for one epoch into out, with more.
  static CliRun train_mlp(const std::string& out, const std::string& more) {
    return signet("train --model mlp --data " + root_ + "/data --epochs 1 --batch 8 --hidden 8 " +
                  "--layers 1 --out " + root_ + "/" + out + " " + more);
  }
  static std::string root_;
  static CliRun train_;
};
std::string CliTest::root_;
CliRun CliTest::train_;

TEST_F(CliTest, TrainWritesRunFolderAndTestsBestCheckpoint) {
  ASSERT_EQ(train_.code, 0) << train_.output;
  for (const char* f : {"config.json", "log.csv", "best.safetensors", "last.safetensors"})
    EXPECT_TRUE(fs::is_regular_file(root_ + "/run/" + f)) << f;
  EXPECT_EQ(line_count(slurp(root_ + "/run/log.csv")), 3);  // header + 2 epochs
  EXPECT_NE(train_.output.find("test metrics of " + root_ + "/run/best.safetensors"),
            std::string::npos)
      << train_.output;
  EXPECT_NE(train_.output.find("confusion matrix"), std::string::npos);
  EXPECT_NE(train_.output.find("macro-F1"), std::string::npos);
  EXPECT_NE(train_.output.find("samples/s"), std::string::npos);  // the progress lines
}

TEST_F(CliTest, ValFractionZeroTrainsOnAllAndTestsTheLastEpoch) {
  CliRun r = train_mlp("noval", "--val-fraction 0 --epochs 2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("on 48 samples (validation 0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("test metrics of " + root_ + "/noval/last.safetensors (epoch 1)"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(root_ + "/noval/best.safetensors"));
  std::string log = slurp(root_ + "/noval/log.csv");
  EXPECT_NE(log.find("\n1,"), std::string::npos) << log;
  EXPECT_NE(log.find(",nan,nan,"), std::string::npos) << log;
  CliRun eval = signet("eval " + root_ + "/noval --split val");
  EXPECT_EQ(eval.code, 2) << eval.output;
  EXPECT_NE(eval.output.find("no val split"), std::string::npos) << eval.output;
  for (const char* bad : {"--val-fraction 1", "--val-fraction -0.1",
                          "--val-fraction 0 --patience 2", "--val-fraction 0 --schedule plateau"}) {
    CliRun b = train_mlp("noval_bad", bad);
    EXPECT_EQ(b.code, 2) << bad << ": " << b.output;
    EXPECT_EQ(line_count(b.output), 1) << bad << ": " << b.output;
  }
}

TEST_F(CliTest, ConfigJsonRoundTripsAndFlagsOverrideIt) {
  ASSERT_EQ(train_.code, 0) << train_.output;
  std::string text = slurp(root_ + "/run/config.json");
  io::Json j = io::parse_json(text, "config.json");
  EXPECT_EQ(io::dump_json(j, 2) + "\n", text);
  EXPECT_EQ(j.find("model")->str, "mlp");
  EXPECT_EQ(j.find("optimizer")->str, "sgd");
  EXPECT_EQ(j.find("epochs")->integer, 2);
  EXPECT_DOUBLE_EQ(j.find("clip_norm")->number, 5.0);
  EXPECT_DOUBLE_EQ(j.find("momentum")->number, 0.9);
  EXPECT_EQ(j.find("classes")->integer, 3);
  EXPECT_EQ(j.find("class_names")->items.at(1).str, "right");
  // The written config trains again; a flag overrides its value.
  CliRun again =
      signet("train --config " + root_ + "/run/config.json --epochs 1 --out " + root_ + "/run2");
  ASSERT_EQ(again.code, 0) << again.output;
  io::Json j2 = io::parse_json(slurp(root_ + "/run2/config.json"), "run2/config.json");
  EXPECT_EQ(j2.find("epochs")->integer, 1);
  EXPECT_EQ(j2.find("optimizer")->str, "sgd");
  EXPECT_DOUBLE_EQ(j2.find("momentum")->number, 0.9);
  EXPECT_EQ(line_count(slurp(root_ + "/run2/log.csv")), 2);
}

TEST_F(CliTest, ResumeEqualsAnUninterruptedRun) {
  std::string common = "train --model mlp --data " + root_ +
                       "/data --batch 8 --hidden 8 --layers 1 --optimizer sgd --lr 0.1 " +
                       "--momentum 0.9 --schedule step --step-size 1 --gamma 0.5 --dropout 0.2";
  CliRun whole = signet(common + " --epochs 3 --out " + root_ + "/whole");
  ASSERT_EQ(whole.code, 0) << whole.output;
  CliRun first = signet(common + " --epochs 1 --out " + root_ + "/resumed");
  ASSERT_EQ(first.code, 0) << first.output;
  CliRun second = signet("train --resume " + root_ + "/resumed --epochs 3");
  ASSERT_EQ(second.code, 0) << second.output;
  EXPECT_NE(second.output.find("at epoch 1"), std::string::npos) << second.output;
  EXPECT_EQ(line_count(slurp(root_ + "/resumed/log.csv")), 4);  // header + epochs 0, 1, 2
  // Same weights, optimiser state and lr schedule, byte for byte.
  EXPECT_EQ(slurp(root_ + "/resumed/last.safetensors"), slurp(root_ + "/whole/last.safetensors"));
}

TEST_F(CliTest, EvalPrintsMetricsAndConfusionMatrix) {
  ASSERT_EQ(train_.code, 0) << train_.output;
  CliRun r = signet("eval " + root_ + "/run");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("test: top-1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("confusion matrix"), std::string::npos);
  EXPECT_NE(r.output.find("(12 samples)"), std::string::npos);
  // train reported the test split on best.safetensors: eval of the run folder prints the same.
  auto test_line = [](const std::string& out) {
    size_t at = out.find("test: top-1");
    return at == std::string::npos ? std::string() : out.substr(at, out.find('\n', at) - at);
  };
  EXPECT_FALSE(test_line(r.output).empty());
  EXPECT_EQ(test_line(r.output), test_line(train_.output));
  CliRun ck = signet("eval " + root_ + "/run/last.safetensors --split train");
  ASSERT_EQ(ck.code, 0) << ck.output;
  EXPECT_NE(ck.output.find("train: top-1"), std::string::npos) << ck.output;
}

TEST_F(CliTest, PredictWritesProbabilitiesSummingToOne) {
  ASSERT_EQ(train_.code, 0) << train_.output;
  std::string out = root_ + "/probs.npy";
  CliRun r =
      signet("predict --run " + root_ + "/run " + root_ + "/data/test_x.npy --output " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("1. "), std::string::npos);
  EXPECT_NE(r.output.find("3. "), std::string::npos);
  Tensor p = io::read_npy(out);
  ASSERT_EQ(p.shape(), (Shape{12, 3}));
  std::vector<float> v = p.to_vector<float>();
  for (int64_t i = 0; i < 12; ++i) {
    double sum = 0;
    for (int64_t c = 0; c < 3; ++c) {
      float x = v[static_cast<size_t>(i * 3 + c)];
      EXPECT_GE(x, 0.0f);
      sum += x;
    }
    EXPECT_NEAR(sum, 1.0, 1e-5) << "row " << i;
  }
}

TEST_F(CliTest, BadArgumentsGiveOneLineAndExitTwo) {
  std::string d = " --data " + root_ + "/data";
  for (const std::string& args : std::vector<std::string>{
           "train --bogus", "train" + d + " --model no_such_model", "train" + d + " --epochs",
           "train" + d + " --epochs abc", "train" + d + " --lr 1e-3x", "train" + d + " --tbptt 4",
           "train --model mlp", "no_such_command", "", "eval",
           "eval " + root_ + "/run --split nope", "predict --run " + root_ + "/run",
           "predict --window 2 x.npy", "prep --frames 0",
           "train --config " + root_ + "/run/log.csv", "demo --epochs x",
           "demo --model no_such_model", "bench --bogus"}) {
    CliRun r = signet(args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.output;
    EXPECT_EQ(line_count(r.output), 1) << args << ": " << r.output;
  }
}

TEST_F(CliTest, PrepDecodesVideosThatTrainAndPredictUse) {
  std::string v = root_ + "/videos", p = root_ + "/prepped";
  CliRun synth =
      signet("synth --out " + v + " --train 12 --val 6 --test 6 --size 16 --frames 8 --threads 1");
  if (synth.code != 0 && synth.output.find("without FFmpeg") != std::string::npos)
    GTEST_SKIP() << "signet built without FFmpeg";
  ASSERT_EQ(synth.code, 0) << synth.output;
  CliRun prep = signet("prep --data " + v + " --out " + p + " --frames 8 --size 16");
  ASSERT_EQ(prep.code, 0) << prep.output;
  Tensor x = io::read_npy(p + "/train_x.npy"), y = io::read_npy(p + "/train_y.npy");
  EXPECT_EQ(x.shape(), (Shape{12, 8, 3, 16, 16}));
  EXPECT_EQ(x.dtype(), DType::u8);
  EXPECT_EQ(y.shape(), (Shape{12}));
  EXPECT_EQ(line_count(slurp(p + "/classes.txt")), 10);
  EXPECT_FALSE(fs::exists(p + "/train_len.npy"));
  // Zero padding to 10 frames: the 8 real ones, two zero frames, and the lengths beside them,
  // which the trainer passes on (frame_cnn reads whole clips only, so it refuses them).
  const std::string pz = root_ + "/prepped_zeros";
  CliRun prep_zeros =
      signet("prep --data " + v + " --out " + pz + " --frames 10 --size 16 --padding zeros");
  ASSERT_EQ(prep_zeros.code, 0) << prep_zeros.output;
  EXPECT_EQ(io::read_npy(pz + "/train_len.npy").to_vector<int64_t>(), std::vector<int64_t>(12, 8));
  const Tensor xz = io::read_npy(pz + "/train_x.npy");
  EXPECT_EQ(xz.shape(), (Shape{12, 10, 3, 16, 16}));
  const std::vector<uint8_t> last_two = xz.narrow(1, 8, 2).contiguous().to_vector<uint8_t>();
  EXPECT_EQ(*std::max_element(last_two.begin(), last_two.end()), 0);
  CliRun whole_only = signet("train --model frame_cnn --data " + pz +
                             " --epochs 1 --batch 6 --out " + root_ + "/zeros_prep_run");
  EXPECT_EQ(whole_only.code, 1) << whole_only.output;
  EXPECT_NE(whole_only.output.find("has length 8"), std::string::npos) << whole_only.output;
  EXPECT_EQ(signet("prep --data " + v + " --out " + pz + " --padding none").code, 2);
  CliRun train = signet("train --model frame_cnn --data " + p + " --epochs 1 --batch 6 --out " +
                        root_ + "/video_run");
  ASSERT_EQ(train.code, 0) << train.output;
  // Straight from the videos with a clip cache and augmentation: the first run writes one cache
  // per split, the second reads them back and trains to the same scores.
  const std::string cached = "train --model frame_cnn --data " + v +
                             " --frames 8 --size 16 --epochs 1 --batch 6 --threads 1 --cache " +
                             root_ + "/cache --augment crop,color --out ";
  CliRun first = signet(cached + root_ + "/cached_run1");
  ASSERT_EQ(first.code, 0) << first.output;
  for (const char* split : {"train", "val", "test"})
    EXPECT_TRUE(fs::exists(root_ + "/cache/video-" + split + ".clips")) << split;
  CliRun second = signet(cached + root_ + "/cached_run2");
  ASSERT_EQ(second.code, 0) << second.output;
  // epoch, acc, loss, val_acc, val_loss of the one epoch row (the seconds column differs).
  auto scores = [&](const std::string& run) {
    std::string text = slurp(root_ + "/" + run + "/log.csv");
    std::string row = text.substr(text.find('\n') + 1);
    size_t end = 0;
    for (int field = 0; field < 5; ++field) end = row.find(',', end) + 1;
    return row.substr(0, end);
  };
  EXPECT_EQ(scores("cached_run1"), scores("cached_run2"));
  EXPECT_EQ(
      signet(cached.substr(0, cached.find("--augment")) + "--augment spin --out " + root_ + "/bad")
          .code,
      2);
  // Time augmentation would move the zero padding; the list's spaces do not hide it.
  CliRun zeros_time = signet(cached.substr(0, cached.find("--augment")) +
                             "--padding zeros --augment 'crop, time' --out " + root_ + "/bad");
  EXPECT_EQ(zeros_time.code, 2) << zeros_time.output;
  EXPECT_NE(zeros_time.output.find("drop time"), std::string::npos) << zeros_time.output;
  std::string clip;
  for (auto& e : fs::recursive_directory_iterator(v + "/test"))
    if (e.is_regular_file()) clip = e.path().string();
  ASSERT_FALSE(clip.empty());
  CliRun pred = signet("predict --run " + root_ + "/video_run " + clip +
                       " --window 6 --stride 2 --output " + root_ + "/video_probs.npy");
  ASSERT_EQ(pred.code, 0) << pred.output;
  EXPECT_NE(pred.output.find("2 windows"), std::string::npos) << pred.output;
  std::vector<float> probs = io::read_npy(root_ + "/video_probs.npy").to_vector<float>();
  ASSERT_EQ(probs.size(), 10u);
  double sum = 0;
  for (float q : probs) sum += q;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  // Majority vote: each window's top class gets one vote; the shares sum to 1 in halves.
  CliRun vote = signet("predict --run " + root_ + "/video_run " + clip +
                       " --window 6 --stride 2 --vote --output " + root_ + "/video_votes.npy");
  ASSERT_EQ(vote.code, 0) << vote.output;
  EXPECT_NE(vote.output.find("2 windows (vote shares)"), std::string::npos) << vote.output;
  std::vector<float> shares = io::read_npy(root_ + "/video_votes.npy").to_vector<float>();
  ASSERT_EQ(shares.size(), 10u);
  double total = 0;
  for (float q : shares) {
    EXPECT_TRUE(q == 0.0f || q == 0.5f || q == 1.0f) << q;
    total += q;
  }
  EXPECT_EQ(total, 1.0);
  // A run trained with zero padding pads predict's short windows with zeros too and passes their
  // length, which frame_cnn (whole inputs only) refuses; the whole 8-frame clip is fine.
  CliRun zeros = signet("train --model frame_cnn --data " + p +
                        " --epochs 1 --batch 6 --padding zeros --out " + root_ + "/zeros_run");
  ASSERT_EQ(zeros.code, 0) << zeros.output;
  CliRun whole = signet("predict --run " + root_ + "/zeros_run " + clip);
  EXPECT_EQ(whole.code, 0) << whole.output;
  CliRun windowed =
      signet("predict --run " + root_ + "/zeros_run " + clip + " --window 6 --stride 2");
  EXPECT_EQ(windowed.code, 1) << windowed.output;
  EXPECT_NE(windowed.output.find("has length 6"), std::string::npos) << windowed.output;
}

TEST_F(CliTest, RuntimeFailureExitsOne) {
  CliRun r = signet("eval " + root_ + "/data/train_x.npy");  // no config.json beside it
  EXPECT_EQ(r.code, 1) << r.output;
}

TEST_F(CliTest, EveryCommandHasHelp) {
  for (const char* c :
       {"demo", "synth", "data", "prep", "train", "eval", "predict", "summary", "bench", "info"}) {
    CliRun r = signet(std::string(c) + " --help");
    EXPECT_EQ(r.code, 0) << c << ": " << r.output;
    EXPECT_NE(r.output.find("usage"), std::string::npos) << c << ": " << r.output;
  }
  EXPECT_EQ(signet("--help").code, 0);
}

TEST_F(CliTest, TbpttTrainsRecurrentModelsOnly) {
  std::string seq = root_ + "/sequences";
  fs::create_directories(seq);
  write_sequences(seq, "train", 24, 3);
  write_sequences(seq, "test", 6, 4);
  for (const char* mode : {"chunk", "sequence"}) {
    CliRun r = signet("train --model feature_lstm --data " + seq +
                      " --hidden 8 --layers 1 --epochs 1 --batch 8 --tbptt 2 --tbptt-step " + mode +
                      " --out " + root_ + "/tbptt_" + mode);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.output;
    EXPECT_EQ(line_count(slurp(root_ + "/tbptt_" + mode + "/log.csv")), 2);
  }
  for (const char* bad : {" --model mlp --tbptt 2", " --model feature_lstm --tbptt -1",
                          " --model feature_lstm --tbptt 2 --tbptt-step sometimes"}) {
    CliRun r = signet("train --data " + seq + bad);
    EXPECT_EQ(r.code, 2) << bad << ": " << r.output;
    EXPECT_EQ(line_count(r.output), 1) << bad << ": " << r.output;
  }
}

TEST_F(CliTest, InitWeightsNewClassesFreezeAndLrMult) {
  // PyTorch-named weights of an mlp 4 -> 8 -> 5 (a head of 5 classes) and one stray tensor.
  std::string w = root_ + "/init.safetensors";
  RngStream rng = init_stream(12);
  io::write_safetensors(w, {{"layers.0.weight", randn({8, 4}, DType::f32, &rng)},
                            {"layers.0.bias", randn({8}, DType::f32, &rng)},
                            {"layers.1.weight", randn({5, 8}, DType::f32, &rng)},
                            {"layers.1.bias", randn({5}, DType::f32, &rng)},
                            {"extra.weight", zeros({2})}});
  CliRun head = train_mlp("init_bad", "--init-weights " + w);
  EXPECT_EQ(head.code, 2) << head.output;
  EXPECT_NE(head.output.find("--new-classes 3"), std::string::npos) << head.output;
  CliRun strict =
      train_mlp("init_strict", "--init-weights " + w + " --new-classes 3 --strict-weights");
  EXPECT_EQ(strict.code, 1) << strict.output;
  EXPECT_NE(strict.output.find("extra.weight"), std::string::npos) << strict.output;
  // Loaded, the head replaced by one of 3 classes, layers.0 frozen: it keeps the file's values.
  CliRun frozen =
      train_mlp("init_frozen", "--init-weights " + w + " --new-classes 3 --freeze layers.0.");
  ASSERT_EQ(frozen.code, 0) << frozen.output;
  EXPECT_NE(frozen.output.find("4 loaded, 0 missing, 1 unexpected"), std::string::npos)
      << frozen.output;
  EXPECT_NE(frozen.output.find("unexpected: extra.weight"), std::string::npos);
  std::string last = root_ + "/init_frozen/last.safetensors";
  EXPECT_EQ(tensor_of(last, "layers.0.weight"), tensor_of(w, "layers.0.weight"));
  EXPECT_EQ(tensor_of(last, "layers.1.weight").size(), 3u * 8u);
  EXPECT_NE(tensor_of(last, "layers.1.bias"), std::vector<float>(3, 0.0f));
  // lr multiplier 0 on the first layer: the same; 1 on it: it trains.
  CliRun zero = train_mlp(
      "init_lr0", "--init-weights " + w + " --new-classes 3 --lr-mult layers.0.=0,layers.1.=2");
  ASSERT_EQ(zero.code, 0) << zero.output;
  EXPECT_EQ(tensor_of(root_ + "/init_lr0/last.safetensors", "layers.0.weight"),
            tensor_of(w, "layers.0.weight"));
  CliRun one =
      train_mlp("init_lr1", "--init-weights " + w + " --new-classes 3 --lr-mult layers.0.=1");
  ASSERT_EQ(one.code, 0) << one.output;
  EXPECT_NE(tensor_of(root_ + "/init_lr1/last.safetensors", "layers.0.weight"),
            tensor_of(w, "layers.0.weight"));
  // A resumed run rebuilds the 3-class model from its checkpoint, not from the weights file.
  CliRun resumed = signet("train --resume " + root_ + "/init_frozen --epochs 2");
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_EQ(resumed.output.find("init weights"), std::string::npos) << resumed.output;
  // eval rebuilds the 3-class model from the run folder.
  CliRun ev = signet("eval " + root_ + "/init_frozen");
  EXPECT_EQ(ev.code, 0) << ev.output;
  // The JSON config keys work as the flags do.
  std::ofstream(root_ + "/init.json")
      << "{\"init_weights\": \"" << w << "\", \"new_classes\": 3, \"freeze\": \"layers.0.\"}";
  CliRun cfg = train_mlp("init_json", "--config " + root_ + "/init.json");
  ASSERT_EQ(cfg.code, 0) << cfg.output;
  EXPECT_EQ(tensor_of(root_ + "/init_json/last.safetensors", "layers.0.weight"),
            tensor_of(w, "layers.0.weight"));
  for (const std::string& bad :
       std::vector<std::string>{"--new-classes 3", "--init-weights " + w + " --new-classes 2",
                                "--freeze nothing.", "--lr-mult layers.0.", "--lr-mult =2",
                                "--init-weights " + root_ + "/none.safetensors"}) {
    CliRun r = train_mlp("init_usage", bad);
    EXPECT_EQ(r.code, 2) << bad << ": " << r.output;
    EXPECT_EQ(line_count(r.output), 1) << bad << ": " << r.output;
  }
}

TEST_F(CliTest, ResumeWithAPlateauScheduleEqualsAnUninterruptedRun) {
  std::string common =
      "train --model mlp --data " + root_ +
      "/data --batch 8 --hidden 8 --layers 1 --lr 2 --label-smoothing 0.5 --schedule plateau " +
      "--plateau-patience 0 --plateau-factor 0.5";
  CliRun whole = signet(common + " --epochs 3 --out " + root_ + "/plateau_whole");
  ASSERT_EQ(whole.code, 0) << whole.output;
  CliRun first = signet(common + " --epochs 1 --out " + root_ + "/plateau_resumed");
  ASSERT_EQ(first.code, 0) << first.output;
  CliRun second = signet("train --resume " + root_ + "/plateau_resumed --epochs 3");
  ASSERT_EQ(second.code, 0) << second.output;
  EXPECT_EQ(slurp(root_ + "/plateau_resumed/last.safetensors"),
            slurp(root_ + "/plateau_whole/last.safetensors"));
  EXPECT_NE(slurp(root_ + "/plateau_whole/last.safetensors").find("__plateau__.best"),
            std::string::npos);
  // val_loss rose in the last epoch: the lr of the next one is halved (and saved).
  EXPECT_EQ(tensor_of(root_ + "/plateau_whole/last.safetensors", "__optimizer__.param_groups.0.lr"),
            std::vector<float>{1.0f})
      << slurp(root_ + "/plateau_whole/log.csv");
}

TEST_F(CliTest, CudaDeviceWithoutAGpuSaysSoInOneLine) {
  std::string d = " --data " + root_ + "/data";
  for (const std::string& args :
       {"train" + d + " --device tpu", "eval " + root_ + "/run --device cuda:x",
        "predict --run " + root_ + "/run " + root_ + "/data/test_x.npy --device gpu"}) {
    CliRun r = signet(args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.output;
    EXPECT_EQ(line_count(r.output), 1) << args << ": " << r.output;
  }
  std::string backend;
  try {
    backend = resolve_cuda_backend(nullptr);
  } catch (const Error&) {
    backend = "none";
  }
  if (backend == "simt") {
    // On the host SIMT backend training runs, and ends with the device allocator's statistics.
    CliRun r = signet("env SIGNET_CUDA_BACKEND=simt " + signet_binary() + " train" + d +
                          " --model mlp --epochs 1 --device cuda --out " + root_ + "/simt_run",
                      false);
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("cuda:0 memory: allocated"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("cache hit"), std::string::npos) << r.output;
  }
  if (backend == "nvcc") GTEST_SKIP() << "a CUDA GPU is present";
  for (const std::string& args :
       {"train" + d + " --model mlp --device cuda", "eval " + root_ + "/run --device cuda",
        "predict --run " + root_ + "/run " + root_ + "/data/test_x.npy --device cuda:0"}) {
    CliRun r = signet("env -u SIGNET_CUDA_BACKEND " + signet_binary() + " " + args, false);
    EXPECT_EQ(r.code, 2) << args << ": " << r.output;
    EXPECT_EQ(line_count(r.output), 1) << args << ": " << r.output;
    EXPECT_NE(r.output.find(backend == "none" ? "no CUDA backend" : "no CUDA GPU found"),
              std::string::npos)
        << args << ": " << r.output;
  }
}

}  // namespace
}  // namespace signet
