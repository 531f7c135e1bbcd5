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

#include "engine/io/json.h"
#include "engine/io/npy.h"
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

// Runs `signet args` through the shell and captures its output and exit code.
CliRun signet(const std::string& args) {
  CliRun r;
  if (!fs::is_regular_file(signet_binary())) {
    r.output = signet_binary() + " is missing: build the signet target (or set SIGNET_BIN)";
    return r;
  }
  std::string cmd = signet_binary() + " " + args + " 2>&1";
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
  CliRun train = signet("train --model frame_cnn --data " + p + " --epochs 1 --batch 6 --out " +
                        root_ + "/video_run");
  ASSERT_EQ(train.code, 0) << train.output;
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

}  // namespace
}  // namespace signet
