// PNG, JPEG and BMP decoding through stb_image, and resizing of 8-bit images.
#pragma once
#include <string>

#include "tools/media/netpbm.h"

namespace signet::media {

// True when signet_media was built with stb_image; without it read_image throws.
bool image_support();

// Decodes a PNG, JPEG or BMP file to `channels` channels (1 grey, 3 RGB; alpha is dropped,
// grey is expanded to RGB and RGB reduced to grey as ITU-R BT.601 luma). Throws
// signet::Error naming the file and stb_image's reason (empty, truncated, unknown format).
Image read_image(const std::string& path, int channels = 3);

// Bilinear resize with pixel centres aligned (OpenCV's INTER_LINEAR, PyTorch's
// align_corners=False), rounded to the nearest level.
Image resize_image(const Image& image, int width, int height);

}  // namespace signet::media
