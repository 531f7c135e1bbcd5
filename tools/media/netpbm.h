// Binary PGM (P5, grey) and PPM (P6, RGB) images with maxval 255.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace signet::media {

// An 8-bit image, rows top to bottom, channels interleaved (1 = grey, 3 = RGB).
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  // height * width * channels bytes
};

// Reads a P5 or P6 file; throws signet::Error naming the file and the problem.
Image read_netpbm(const std::string& path);
// Writes P5 (1 channel) or P6 (3 channels) via a temporary file renamed into place.
void write_netpbm(const std::string& path, const Image& image);

}  // namespace signet::media
