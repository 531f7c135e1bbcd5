#include "tools/media/image_reader.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/error.h"
#include "engine/io/file.h"

#ifdef SIGNET_WITH_STB
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#include <stb_image.h>
#endif

namespace signet::media {

#ifdef SIGNET_WITH_STB

bool image_support() {
  return true;
}

namespace {

// "PNG", "JPEG" or "BMP" from the file's first bytes; nullptr for anything else.
const char* image_format(const std::vector<char>& bytes) {
  auto starts = [&](const char* magic, size_t n) {
    return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0;
  };
  if (starts("\x89PNG\r\n\x1a\n", 8)) return "PNG";
  if (starts("\xff\xd8\xff", 3)) return "JPEG";
  if (starts("BM", 2)) return "BMP";
  return nullptr;
}

// Little-endian integer of `n` bytes at `at` (the caller checks the bounds).
int64_t little_endian(const std::vector<char>& bytes, size_t at, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | uint8_t(bytes[at + size_t(i)]);
  return n == 4 ? int64_t(int32_t(uint32_t(v))) : int64_t(v);
}

// stb_image reads a truncated uncompressed BMP without complaint (the missing rows come out
// black), so its pixel array is checked against the file size first.
void check_bmp_complete(const std::string& path, const std::vector<char>& bytes) {
  SIGNET_CHECK(bytes.size() >= 30, path, ": cannot decode image: truncated BMP (", bytes.size(),
               " bytes, shorter than its header)");
  const int64_t header = little_endian(bytes, 14, 4);
  if (header < 40 || bytes.size() < 34) return;  // OS/2 headers: left to stb_image
  const int64_t compression = little_endian(bytes, 30, 4);
  if (compression != 0 && compression != 3) return;  // run-length coded: no fixed size
  const int64_t offset = little_endian(bytes, 10, 4), width = little_endian(bytes, 18, 4);
  const int64_t height = std::abs(little_endian(bytes, 22, 4));
  const int64_t bits = little_endian(bytes, 28, 2);
  constexpr int64_t kMaxSide = int64_t(1) << 24;  // stb_image's own limit
  if (width <= 0 || width > kMaxSide || height == 0 || height > kMaxSide || bits <= 0 || bits > 32)
    return;  // malformed sizes: stb_image refuses them itself
  const int64_t need = offset + (width * bits + 31) / 32 * 4 * height;
  SIGNET_CHECK(int64_t(bytes.size()) >= need, path, ": cannot decode image: truncated BMP (",
               bytes.size(), " bytes, its ", width, "x", height, " pixels need ", need, ")");
}

}  // namespace

// Reads the whole file, checks what it is, then lets stb_image decode it from memory with the
// channel count asked.
Image read_image(const std::string& path, int channels) {
  SIGNET_CHECK(channels == 1 || channels == 3, path, ": cannot decode to ", channels,
               " channels (1 grey or 3 RGB)");
  const std::vector<char> bytes = io::read_file_bytes(path);
  SIGNET_CHECK(!bytes.empty(), path, ": empty file (0 bytes)");
  const char* format = image_format(bytes);
  SIGNET_CHECK(format, path, ": cannot decode image: not a PNG, JPEG or BMP file");
  if (std::strcmp(format, "BMP") == 0) check_bmp_complete(path, bytes);
  int width = 0, height = 0, file_channels = 0;
  stbi_uc* pixels =
      stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), int(bytes.size()),
                            &width, &height, &file_channels, channels);
  const char* reason = stbi_failure_reason();
  SIGNET_CHECK(pixels, path, ": cannot decode image: truncated or corrupt ", format,
               " (stb_image: ", reason && *reason ? reason : "no reason given", ")");
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.pixels.assign(pixels, pixels + size_t(width) * height * channels);
  stbi_image_free(pixels);
  return image;
}

#else  // built without stb_image

bool image_support() {
  return false;
}

// Always throws: there is no decoder.
Image read_image(const std::string& path, int) {
  SIGNET_FAIL(path, ": cannot read image: signet was built without stb_image");
}

#endif

// Each output pixel samples the input at ((x + 0.5) * in / out - 0.5), clamped to the edges.
Image resize_image(const Image& image, int width, int height) {
  SIGNET_CHECK(width > 0 && height > 0, "resize_image: cannot resize to ", width, "x", height);
  SIGNET_CHECK(image.width > 0 && image.height > 0 && image.channels > 0 &&
                   image.pixels.size() == size_t(image.width) * image.height * image.channels,
               "resize_image: the input is not a valid ", image.width, "x", image.height, "x",
               image.channels, " image");
  Image out;
  out.width = width;
  out.height = height;
  out.channels = image.channels;
  out.pixels.resize(size_t(width) * height * image.channels);
  const int c = image.channels;
  // Source position of output coordinate i along an axis of n inputs and m outputs.
  auto source = [](int i, int n, int m, int& i0, int& i1, double& f) {
    const double s = std::clamp((i + 0.5) * n / m - 0.5, 0.0, double(n - 1));
    i0 = int(s);
    i1 = std::min(i0 + 1, n - 1);
    f = s - i0;
  };
  for (int y = 0; y < height; ++y) {
    int y0, y1;
    double fy;
    source(y, image.height, height, y0, y1, fy);
    for (int x = 0; x < width; ++x) {
      int x0, x1;
      double fx;
      source(x, image.width, width, x0, x1, fx);
      for (int k = 0; k < c; ++k) {
        const auto at = [&](int yy, int xx) {
          return double(image.pixels[(size_t(yy) * image.width + xx) * c + k]);
        };
        const double top = at(y0, x0) + fx * (at(y0, x1) - at(y0, x0));
        const double bottom = at(y1, x0) + fx * (at(y1, x1) - at(y1, x0));
        out.pixels[(size_t(y) * width + x) * c + k] =
            uint8_t(std::lround(top + fy * (bottom - top)));
      }
    }
  }
  return out;
}

}  // namespace signet::media
