// Image decoding through stb_image (tools/media/image_reader.h) and bilinear resizing. PNG,
// JPEG and BMP files are written in the test with stb_image_write when its header is present.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/expect_error.h"
#include "tests/support/fixtures.h"
#include "tests/support/stb_write.h"
#include "tools/media/image_reader.h"

namespace {

namespace fs = std::filesystem;
using signet::media::Image;
using signet::media::read_image;
using signet::media::resize_image;
using signet::testing::expect_error;
using signet::testing::TempDir;

// An image of the given size and channels with every byte from fn(index).
template <class Fn>
Image make_image(int width, int height, int channels, Fn fn) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.pixels.resize(size_t(width) * height * channels);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = uint8_t(fn(i));
  return image;
}

TEST(ResizeImage, IdentityHalvingAndDoubling) {
  const Image src = make_image(4, 4, 3, [](size_t i) { return (i * 37) % 251; });
  EXPECT_EQ(resize_image(src, 4, 4).pixels, src.pixels);
  // Halving samples between pixels 2x and 2x+1: the mean of each 2x2 block.
  const Image half = resize_image(src, 2, 2);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 2; ++x)
      for (int c = 0; c < 3; ++c) {
        const auto at = [&](int yy, int xx) { return src.pixels[(yy * 4 + xx) * 3 + c]; };
        const double mean = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) +
                             at(2 * y + 1, 2 * x + 1)) /
                            4.0;
        EXPECT_NEAR(half.pixels[(y * 2 + x) * 3 + c], mean, 0.5 + 1e-9);
      }
  // Doubling a 1x2 ramp [0, 100]: centres at -0.25, 0.25, 0.75, 1.25 -> 0, 25, 75, 100.
  const Image ramp = make_image(2, 1, 1, [](size_t i) { return i * 100; });
  EXPECT_EQ(resize_image(ramp, 4, 1).pixels, (std::vector<uint8_t>{0, 25, 75, 100}));
  expect_error([&] { resize_image(src, 0, 3); }, {"resize_image", "0x3"});
}

#ifdef SIGNET_TEST_HAVE_STB_WRITE

#define REQUIRE_IMAGES() \
  if (!signet::media::image_support()) GTEST_SKIP() << "signet_media built without stb_image"

TEST(ReadImage, PngAndBmpAreExactJpegWithinTolerance) {
  REQUIRE_IMAGES();
  TempDir dir("signet-image");
  const Image rgb = make_image(5, 3, 3, [](size_t i) { return (i * 53) % 256; });
  const std::string png = dir.file("a.png"), bmp = dir.file("a.bmp"), jpg = dir.file("a.jpg");
  ASSERT_NE(stbi_write_png(png.c_str(), 5, 3, 3, rgb.pixels.data(), 15), 0);
  ASSERT_NE(stbi_write_bmp(bmp.c_str(), 5, 3, 3, rgb.pixels.data()), 0);
  for (const std::string& path : {png, bmp}) {
    const Image back = read_image(path);
    EXPECT_EQ(back.width, 5);
    EXPECT_EQ(back.height, 3);
    EXPECT_EQ(back.channels, 3);
    EXPECT_EQ(back.pixels, rgb.pixels) << path;
  }
  // JPEG is lossy: a flat 16x16 colour keeps only DC terms, quantised at quality 95 to a few
  // levels, plus the RGB -> YCbCr -> RGB rounding.
  const uint8_t colour[3] = {200, 60, 30};
  const Image flat = make_image(16, 16, 3, [&](size_t i) { return colour[i % 3]; });
  ASSERT_NE(stbi_write_jpg(jpg.c_str(), 16, 16, 3, flat.pixels.data(), 95), 0);
  const Image back = read_image(jpg);
  for (size_t i = 0; i < back.pixels.size(); ++i)
    ASSERT_NEAR(back.pixels[i], colour[i % 3], 6) << "byte " << i;
}

TEST(ReadImage, ChannelConversions) {
  REQUIRE_IMAGES();
  TempDir dir("signet-image");
  const Image grey = make_image(4, 2, 1, [](size_t i) { return 30 * i; });
  const Image rgba = make_image(4, 2, 4, [](size_t i) { return (i * 29) % 256; });
  const std::string grey_png = dir.file("g.png"), rgba_png = dir.file("rgba.png");
  ASSERT_NE(stbi_write_png(grey_png.c_str(), 4, 2, 1, grey.pixels.data(), 4), 0);
  ASSERT_NE(stbi_write_png(rgba_png.c_str(), 4, 2, 4, rgba.pixels.data(), 16), 0);
  const Image expanded = read_image(grey_png, 3);
  ASSERT_EQ(expanded.pixels.size(), 24u);
  for (size_t i = 0; i < expanded.pixels.size(); ++i)
    EXPECT_EQ(expanded.pixels[i], grey.pixels[i / 3]);
  EXPECT_EQ(read_image(grey_png, 1).pixels, grey.pixels);
  const Image no_alpha = read_image(rgba_png, 3);
  const Image luma = read_image(rgba_png, 1);
  for (size_t p = 0; p < 8; ++p) {
    for (int c = 0; c < 3; ++c) EXPECT_EQ(no_alpha.pixels[p * 3 + c], rgba.pixels[p * 4 + c]);
    const double y = 0.299 * rgba.pixels[p * 4] + 0.587 * rgba.pixels[p * 4 + 1] +
                     0.114 * rgba.pixels[p * 4 + 2];
    EXPECT_NEAR(luma.pixels[p], y, 1.5);
  }
  expect_error([&] { read_image(grey_png, 2); }, {grey_png.c_str(), "2 channels"});
}

TEST(ReadImage, BadFilesGiveErrorsNamingTheFile) {
  REQUIRE_IMAGES();
  TempDir dir("signet-image");
  const Image rgb = make_image(8, 8, 3, [](size_t i) { return i % 256; });
  const std::string good = dir.file("good.png"), truncated = dir.file("truncated.png");
  ASSERT_NE(stbi_write_png(good.c_str(), 8, 8, 3, rgb.pixels.data(), 24), 0);
  {
    std::ifstream in(good, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  expect_error([&] { read_image(truncated); }, {truncated.c_str(), "cannot decode image"});
  const std::string empty = dir.file("empty.png");
  std::ofstream(empty).close();
  expect_error([&] { read_image(empty); }, {empty.c_str(), "empty file"});
  const std::string text = dir.file("notes.jpg");
  std::ofstream(text) << "not an image\n";
  expect_error([&] { read_image(text); }, {text.c_str(), "cannot decode image"});
  const std::string missing = dir.file("missing.png");
  expect_error([&] { read_image(missing); }, {missing.c_str()});
}

#endif

}  // namespace
