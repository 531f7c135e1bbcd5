#include "tools/media/netpbm.h"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "engine/error.h"
#include "engine/io/file.h"

namespace signet::media {
namespace {

// Largest width or height accepted, so a corrupt header cannot ask for a huge allocation.
constexpr long kMaxSide = 1 << 16;

// Cursor over the bytes of a file's header.
struct HeaderReader {
  const std::string& path;
  const std::vector<uint8_t>& bytes;
  size_t pos = 0;

  // Skips whitespace and '#' comments that run to the end of the line.
  void skip_space() {
    while (pos < bytes.size()) {
      if (bytes[pos] == '#') {
        while (pos < bytes.size() && bytes[pos] != '\n') ++pos;
      } else if (std::isspace(bytes[pos])) {
        ++pos;
      } else {
        return;
      }
    }
  }

  // Reads one positive decimal header field named `what`.
  long number(const char* what) {
    skip_space();
    SIGNET_CHECK(pos < bytes.size(), path, ": truncated header (missing ", what, ")");
    SIGNET_CHECK(std::isdigit(bytes[pos]), path, ": bad header: ", what, " is not a number");
    long value = 0;
    while (pos < bytes.size() && std::isdigit(bytes[pos])) {
      value = value * 10 + (bytes[pos++] - '0');
      SIGNET_CHECK(value <= kMaxSide, path, ": bad header: ", what, " is larger than ", kMaxSide);
    }
    SIGNET_CHECK(value > 0, path, ": bad header: ", what, " is 0");
    return value;
  }
};

}  // namespace

// Parses magic, width, height and maxval, then takes the raster after one whitespace byte.
Image read_netpbm(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SIGNET_CHECK(in, path, ": cannot open for reading");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  SIGNET_CHECK(bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '6'), path,
               ": not a binary PGM/PPM file (expected magic P5 or P6)");

  Image image;
  image.channels = bytes[1] == '5' ? 1 : 3;
  HeaderReader header{path, bytes, 2};
  image.width = int(header.number("width"));
  image.height = int(header.number("height"));
  const long maxval = header.number("maxval");
  SIGNET_CHECK(maxval == 255, path, ": maxval ", maxval, " is not supported (only 255)");
  SIGNET_CHECK(header.pos < bytes.size() && std::isspace(bytes[header.pos]), path,
               ": truncated header (no whitespace after maxval)");
  const size_t start = header.pos + 1;

  const size_t expected = size_t(image.width) * image.height * image.channels;
  const size_t available = bytes.size() - start;
  SIGNET_CHECK(available >= expected, path, ": truncated pixel data (", image.width, "x",
               image.height, "x", image.channels, " needs ", expected, " bytes, file has ",
               available, ")");
  image.pixels.assign(bytes.begin() + start, bytes.begin() + start + expected);
  return image;
}

// Checks the image and writes it crash-safely (a temporary renamed over `path`).
void write_netpbm(const std::string& path, const Image& image) {
  SIGNET_CHECK(image.channels == 1 || image.channels == 3, path, ": cannot write ", image.channels,
               " channels (PGM takes 1, PPM 3)");
  SIGNET_CHECK(image.width > 0 && image.height > 0, path, ": cannot write a ", image.width, "x",
               image.height, " image");
  const size_t expected = size_t(image.width) * image.height * image.channels;
  SIGNET_CHECK(image.pixels.size() == expected, path, ": image has ", image.pixels.size(),
               " pixel bytes, ", image.width, "x", image.height, "x", image.channels, " needs ",
               expected);

  io::write_file_atomically(path, [&](std::ostream& out) {
    out << (image.channels == 1 ? "P5" : "P6") << '\n'
        << image.width << ' ' << image.height << "\n255\n";
    out.write(reinterpret_cast<const char*>(image.pixels.data()), std::streamsize(expected));
  });
}

}  // namespace signet::media
