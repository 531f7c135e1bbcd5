// Sign Language MNIST CSV reader: labels and pixels of tiny CSVs written here, each
// bad-line case (warned with file and line, skipped, counted), J/Z handling and the remap.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "engine/data/loader.h"
#include "tests/support/expect_error.h"
#include "tools/media/sign_mnist.h"

namespace {

using signet::media::read_sign_mnist_csv;
using signet::media::SignMnistLabels;
using signet::media::SignMnistOptions;
using signet::testing::expect_error;

// A path in the test's temporary folder.
std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + name;
}

// The header line label,pixel1,...,pixel784.
std::string header() {
  std::string h = "label";
  for (int p = 1; p <= 784; ++p) h += ",pixel" + std::to_string(p);
  return h + "\n";
}

// A data line: the label, then pixel p = (seed + p) % 256.
std::string row(const std::string& label, int seed) {
  std::string r = label;
  for (int p = 0; p < 784; ++p) r += "," + std::to_string((seed + p) % 256);
  return r + "\n";
}

// Writes text to a file in the temporary folder; returns its path.
std::string write_csv(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Options that collect the warnings instead of printing them.
SignMnistOptions collecting(std::vector<std::string>& warnings,
                            SignMnistLabels labels = SignMnistLabels::keep25) {
  SignMnistOptions o;
  o.labels = labels;
  o.warn = [&warnings](const std::string& m) { warnings.push_back(m); };
  return o;
}

TEST(SignMnist, ReadsLabelsAndPixels) {
  const std::string path =
      write_csv("good.csv", header() + row("3", 0) + row("24", 100) + row("0", 7));
  std::vector<std::string> warnings;
  const auto data = read_sign_mnist_csv(path, collecting(warnings));
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(data.size(), 3);
  EXPECT_EQ(data.skipped, 0);
  EXPECT_EQ(data.num_classes, 25);
  EXPECT_EQ(data.labels, (std::vector<int64_t>{3, 24, 0}));
  ASSERT_EQ(data.pixels.size(), 3u * 784u);
  EXPECT_EQ(data.pixels[0], 0);
  EXPECT_EQ(data.pixels[783], 783 % 256);
  EXPECT_EQ(data.pixels[784], 100);
  EXPECT_EQ(data.pixels[784 + 200], (100 + 200) % 256);
  EXPECT_EQ(data.pixels[2 * 784 + 1], 8);
}

TEST(SignMnist, AcceptsCrlfAndNoHeader) {
  std::string text = row("5", 1) + row("6", 2);
  for (size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 2))
    text.insert(at, "\r");
  const auto data = read_sign_mnist_csv(write_csv("crlf.csv", text));
  EXPECT_EQ(data.labels, (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(data.pixels[784 + 783], (2 + 783) % 256);
}

TEST(SignMnist, BadLinesAreWarnedWithLineNumberSkippedAndCounted) {
  std::string short_row = row("1", 0);
  short_row = short_row.substr(0, short_row.rfind(',')) + "\n";
  std::string bad_pixel = row("2", 0);
  bad_pixel.replace(bad_pixel.find(",1,"), 3, ",256,");
  const std::string path =
      write_csv("bad.csv", header() + row("4", 0) + short_row + row("x", 0) + bad_pixel +
                               row("25", 0) + row("-1", 0) + "\n" + row("7", 0));
  std::vector<std::string> warnings;
  const auto data = read_sign_mnist_csv(path, collecting(warnings));
  EXPECT_EQ(data.labels, (std::vector<int64_t>{4, 7}));
  EXPECT_EQ(data.skipped, 5);
  ASSERT_EQ(warnings.size(), 5u);
  const char* expected[][2] = {{"bad.csv:3:", "784 fields"},
                               {"bad.csv:4:", "label 'x' is not an integer"},
                               {"bad.csv:5:", "pixel2 '256'"},
                               {"bad.csv:6:", "label 25 is out of range"},
                               {"bad.csv:7:", "label -1 is out of range"}};
  for (size_t i = 0; i < warnings.size(); ++i)
    for (const char* part : expected[i])
      EXPECT_NE(warnings[i].find(part), std::string::npos) << warnings[i];
}

TEST(SignMnist, ManyBadLinesEndInOneSummary) {
  std::string text = header();
  for (int i = 0; i < 5; ++i) text += "1,2,3\n";
  text += row("0", 0);
  std::vector<std::string> warnings;
  SignMnistOptions options = collecting(warnings);
  options.max_warnings = 2;
  const auto data = read_sign_mnist_csv(write_csv("many.csv", text), options);
  EXPECT_EQ(data.skipped, 5);
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_NE(warnings[2].find("3 more lines skipped (5 in all)"), std::string::npos) << warnings[2];
}

TEST(SignMnist, KeepsOrRemapsJAndZ) {
  const std::string text =
      header() + row("0", 0) + row("8", 0) + row("9", 0) + row("10", 0) + row("24", 0);
  std::vector<std::string> warnings;
  const auto keep = read_sign_mnist_csv(write_csv("jz.csv", text), collecting(warnings));
  EXPECT_EQ(keep.labels, (std::vector<int64_t>{0, 8, 9, 10, 24}));
  EXPECT_EQ(keep.num_classes, 25);
  const auto remap =
      read_sign_mnist_csv(temp_path("jz.csv"), collecting(warnings, SignMnistLabels::remap24));
  EXPECT_EQ(remap.labels, (std::vector<int64_t>{0, 8, 9, 23}));
  EXPECT_EQ(remap.num_classes, 24);
  EXPECT_EQ(remap.skipped, 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("jz.csv:4: label 9 is out of range"), std::string::npos)
      << warnings[0];
  EXPECT_EQ(signet::media::sign_mnist_class(25, SignMnistLabels::keep25), -1);
  EXPECT_EQ(signet::media::sign_mnist_class(25, SignMnistLabels::remap24), -1);
}

TEST(SignMnist, FatalErrorsNameTheFile) {
  std::vector<std::string> warnings;
  const std::string empty = write_csv("empty.csv", header());
  expect_error([&] { read_sign_mnist_csv(empty, collecting(warnings)); },
               {"empty.csv", "no usable sample"});
  const std::string all_bad = write_csv("allbad.csv", header() + row("25", 0) + "1,2\n");
  expect_error([&] { read_sign_mnist_csv(all_bad, collecting(warnings)); },
               {"allbad.csv", "no usable sample", "2 skipped"});
  const std::string bad_header = write_csv("header.csv", "label,pixel1,pixel2\n" + row("1", 0));
  expect_error([&] { read_sign_mnist_csv(bad_header, collecting(warnings)); },
               {"header.csv:1:", "header"});
  expect_error([&] { read_sign_mnist_csv(temp_path("missing.csv")); },
               {"missing.csv", "cannot open"});
}

TEST(SignMnist, DatasetHandsOutImagesToTheLoader) {
  const std::string path =
      write_csv("ds.csv", header() + row("1", 10) + row("2", 20) + row("3", 30));
  auto ds = std::make_shared<signet::media::SignMnistDataset>(read_sign_mnist_csv(path));
  EXPECT_EQ(ds->size(), 3);
  const signet::data::Sample s = ds->get(1);
  EXPECT_EQ(s.input.shape(), (signet::Shape{1, 28, 28}));
  EXPECT_EQ(s.input.dtype(), signet::DType::u8);
  EXPECT_EQ(s.input.to_vector<uint8_t>()[5], 25);
  EXPECT_EQ(s.label, 2);
  expect_error([&] { ds->get(3); }, {"index 3 out of range"});

  signet::data::LoaderOptions options;
  options.batch_size = 2;
  options.shuffle = false;
  signet::data::Loader loader(ds, options);
  loader.start_epoch(0);
  signet::data::Batch b;
  ASSERT_TRUE(loader.next(b));
  EXPECT_EQ(b.inputs.shape(), (signet::Shape{2, 1, 28, 28}));
  EXPECT_EQ(b.labels.to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  ASSERT_TRUE(loader.next(b));
  EXPECT_EQ(b.inputs.shape(), (signet::Shape{1, 1, 28, 28}));
  EXPECT_EQ(b.inputs.to_vector<uint8_t>()[0], 30);
  EXPECT_FALSE(loader.next(b));
}

}  // namespace
