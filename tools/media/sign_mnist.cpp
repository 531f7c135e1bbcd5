#include "tools/media/sign_mnist.h"

#include <cstdio>
#include <cstring>
#include <fstream>

#include "engine/error.h"

namespace signet::media {
namespace {

// Fields of one CSV line with spaces and a trailing '\r' trimmed.
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    const size_t comma = line.find(',', start);
    std::string f =
        line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t b = f.find_first_not_of(" \t\r");
    const size_t e = f.find_last_not_of(" \t\r");
    fields.push_back(b == std::string::npos ? "" : f.substr(b, e - b + 1));
    if (comma == std::string::npos) return fields;
    start = comma + 1;
  }
}

// Parses a decimal integer field (optional '-'); false when it is not one or exceeds 10^9.
bool parse_int(const std::string& s, int64_t& out) {
  size_t i = s.size() > 0 && s[0] == '-' ? 1 : 0;
  if (i == s.size() || s.size() - i > 9) return false;
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = s[0] == '-' ? -v : v;
  return true;
}

// True when the fields are exactly label,pixel1,...,pixel784.
bool is_header(const std::vector<std::string>& fields) {
  if (fields.size() != size_t(kSignMnistPixels + 1) || fields[0] != "label") return false;
  for (int64_t p = 1; p <= kSignMnistPixels; ++p)
    if (fields[size_t(p)] != "pixel" + std::to_string(p)) return false;
  return true;
}

// Why a data line cannot be used ("" when it can); fills label and pixels.
std::string check_line(const std::vector<std::string>& fields, SignMnistLabels mode, int64_t& cls,
                       uint8_t* pixels) {
  if (fields.size() != size_t(kSignMnistPixels + 1))
    return "has " + std::to_string(fields.size()) + " fields, expected " +
           std::to_string(kSignMnistPixels + 1) + " (label and 784 pixels)";
  int64_t label = 0;
  if (!parse_int(fields[0], label)) return "label '" + fields[0] + "' is not an integer";
  for (int64_t p = 0; p < kSignMnistPixels; ++p) {
    int64_t v = 0;
    const std::string& f = fields[size_t(p + 1)];
    if (!parse_int(f, v) || v < 0 || v > 255)
      return "pixel" + std::to_string(p + 1) + " '" + f + "' is not an integer in 0..255";
    pixels[p] = uint8_t(v);
  }
  cls = sign_mnist_class(label, mode);
  if (cls < 0)
    return "label " + std::to_string(label) + " is out of range (" +
           (mode == SignMnistLabels::keep25 ? "0..24" : "0..24 without 9 (J) when remapping") + ")";
  return "";
}

}  // namespace

int64_t sign_mnist_class(int64_t label, SignMnistLabels mode) {
  if (label < 0 || label > 24) return -1;
  if (mode == SignMnistLabels::keep25) return label;
  if (label == 9) return -1;
  return label < 9 ? label : label - 1;
}

// Reads line by line: header (or data) on line 1, then samples; warns, skips and counts.
SignMnist read_sign_mnist_csv(const std::string& path, const SignMnistOptions& options) {
  std::ifstream in(path, std::ios::binary);
  SIGNET_CHECK(in, path, ": cannot open for reading");
  const auto warn = [&](const std::string& message) {
    if (options.warn)
      options.warn(message);
    else
      std::fprintf(stderr, "signet: warning: %s\n", message.c_str());
  };
  SignMnist out;
  out.num_classes = options.labels == SignMnistLabels::keep25 ? 25 : 24;
  std::string line;
  int64_t line_no = 0;
  uint8_t pixels[kSignMnistPixels];
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::vector<std::string> fields = split_csv(line);
    if (line_no == 1 && !fields.empty() && fields[0] == "label") {
      SIGNET_CHECK(is_header(fields), path,
                   ":1: not a Sign Language MNIST header (expected label,pixel1,...,pixel784)");
      continue;
    }
    int64_t cls = 0;
    const std::string problem = check_line(fields, options.labels, cls, pixels);
    if (problem.empty()) {
      out.labels.push_back(cls);
      out.pixels.insert(out.pixels.end(), pixels, pixels + kSignMnistPixels);
      continue;
    }
    if (out.skipped++ < options.max_warnings)
      warn(path + ":" + std::to_string(line_no) + ": " + problem + "; line skipped");
  }
  SIGNET_CHECK(!in.bad(), path, ": read failed at line ", line_no);
  if (out.skipped > options.max_warnings)
    warn(path + ": " + std::to_string(out.skipped - options.max_warnings) +
         " more lines skipped (" + std::to_string(out.skipped) + " in all)");
  SIGNET_CHECK(out.size() > 0, path, ": no usable sample (", line_no, " lines read, ", out.skipped,
               " skipped)");
  return out;
}

data::Sample SignMnistDataset::get(int64_t i) const {
  SIGNET_CHECK(i >= 0 && i < size(), "SignMnistDataset: index ", i, " out of range [0, ", size(),
               ")");
  Tensor input = empty({1, kSignMnistSide, kSignMnistSide}, DType::u8);
  std::memcpy(input.raw_data(), samples_.pixels.data() + i * kSignMnistPixels,
              size_t(kSignMnistPixels));
  return {input, samples_.labels[size_t(i)]};
}

}  // namespace signet::media
