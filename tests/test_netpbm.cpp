#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "engine/error.h"
#include "tools/media/netpbm.h"

namespace {

using signet::media::Image;

// A path in the test's temporary folder.
std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + name;
}

// Writes raw bytes to a file.
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// Expects read_netpbm to throw signet::Error whose message contains both parts.
void expect_read_error(const std::string& path, const std::string& part) {
  try {
    signet::media::read_netpbm(path);
    FAIL() << "no error for " << path;
  } catch (const signet::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Netpbm, RoundTripGreyAndColour) {
  for (int channels : {1, 3}) {
    Image image;
    image.width = 5;
    image.height = 3;
    image.channels = channels;
    for (int i = 0; i < 5 * 3 * channels; ++i) image.pixels.push_back(uint8_t(i * 17 + 3));
    const std::string path = temp_path(channels == 1 ? "rt.pgm" : "rt.ppm");
    signet::media::write_netpbm(path, image);
    const Image back = signet::media::read_netpbm(path);
    EXPECT_EQ(back.width, 5);
    EXPECT_EQ(back.height, 3);
    EXPECT_EQ(back.channels, channels);
    EXPECT_EQ(back.pixels, image.pixels);
  }
}

TEST(Netpbm, ReadsCommentsInHeader) {
  const std::string path = temp_path("comment.pgm");
  write_bytes(path, std::string("P5\n# made by hand\n2 1\n255\n") + char(10) + char(200));
  const Image image = signet::media::read_netpbm(path);
  EXPECT_EQ(image.width, 2);
  EXPECT_EQ(image.height, 1);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{10, 200}));
}

TEST(Netpbm, TruncatedPixelsFail) {
  const std::string path = temp_path("short.ppm");
  write_bytes(path, "P6\n4 4\n255\nabc");
  expect_read_error(path, "truncated pixel data");
}

TEST(Netpbm, TruncatedHeaderFails) {
  const std::string path = temp_path("header.pgm");
  write_bytes(path, "P5\n4 ");
  expect_read_error(path, "truncated header");
}

TEST(Netpbm, WrongMagicFails) {
  const std::string path = temp_path("magic.pgm");
  write_bytes(path, "P2\n1 1\n255\n0\n");
  expect_read_error(path, "expected magic P5 or P6");
}

TEST(Netpbm, UnsupportedMaxvalFails) {
  const std::string path = temp_path("maxval.pgm");
  write_bytes(path, "P5\n1 1\n65535\n");
  expect_read_error(path, "maxval 65535");
}

TEST(Netpbm, MissingFileFails) {
  expect_read_error(temp_path("absent.pgm"), "cannot open");
}

TEST(Netpbm, WriteRejectsBadImage) {
  Image image;
  image.width = 2;
  image.height = 2;
  image.channels = 3;
  image.pixels.assign(5, 0);
  EXPECT_THROW(signet::media::write_netpbm(temp_path("bad.ppm"), image), signet::Error);
  image.channels = 2;
  EXPECT_THROW(signet::media::write_netpbm(temp_path("bad.ppm"), image), signet::Error);
}

}  // namespace
