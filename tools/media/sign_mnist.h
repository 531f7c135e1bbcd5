// Sign Language MNIST CSV files: a header `label,pixel1,...,pixel784`, then one 28x28 grey
// image per line (label, then 784 pixels 0..255, row by row). Letters J (9) and Z (25) need
// motion and are absent, so labels run 0..24 with 9 unused; `signet data mnist` writes the
// same layout with digits 0..9.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/data/dataset.h"

namespace signet::media {

constexpr int64_t kSignMnistSide = 28;
constexpr int64_t kSignMnistPixels = kSignMnistSide * kSignMnistSide;

// How labels are turned into class indices.
enum class SignMnistLabels {
  keep25,   // 25 outputs, label = class, 9 (J) never used
  remap24,  // 24 contiguous outputs: 0..8 stay, 10..24 become 9..23; label 9 is refused
};

struct SignMnistOptions {
  SignMnistLabels labels = SignMnistLabels::keep25;
  // Receives one message per skipped line ("file:line: reason; line skipped"); null prints
  // "signet: warning: ..." to stderr.
  std::function<void(const std::string&)> warn;
  // Lines reported one by one; the rest are counted in one closing message.
  int64_t max_warnings = 20;
};

// The usable samples of one file.
struct SignMnist {
  std::vector<uint8_t> pixels;  // size() * 784 bytes, image after image, rows top to bottom
  std::vector<int64_t> labels;  // class indices in [0, num_classes)
  int64_t num_classes = 25;
  int64_t skipped = 0;  // malformed lines and labels out of range
  int64_t size() const { return int64_t(labels.size()); }
};

// The class index of a Sign Language MNIST label under `mode`, or -1 when it has none.
int64_t sign_mnist_class(int64_t label, SignMnistLabels mode);
// Reads a CSV; a malformed line or a label out of range is reported through options.warn
// with the file and line number, skipped and counted. Throws signet::Error when the file
// cannot be read, its header is wrong, or no usable sample remains.
SignMnist read_sign_mnist_csv(const std::string& path, const SignMnistOptions& options = {});

// The samples of a SignMnist as a Dataset: input (1, 28, 28) u8, label the class index.
class SignMnistDataset : public data::Dataset {
 public:
  explicit SignMnistDataset(SignMnist samples) : samples_(std::move(samples)) {}
  int64_t size() const override { return samples_.size(); }
  // Copies image i into a new tensor.
  data::Sample get(int64_t i) const override;
  int64_t num_classes() const { return samples_.num_classes; }

 private:
  SignMnist samples_;
};

}  // namespace signet::media
