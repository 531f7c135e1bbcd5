#include "engine/io/npy.h"

#include <cctype>
#include <cstdint>
#include <cstring>

#include "engine/error.h"
#include "engine/io/file.h"

namespace signet::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// Largest header accepted, so a corrupt length cannot ask for a huge read.
constexpr uint32_t kMaxHeader = 1 << 20;

// The NumPy descr string of a dtype ("" when NumPy has none).
const char* descr_of(DType t) {
  switch (t) {
    case DType::f32:
      return "<f4";
    case DType::f64:
      return "<f8";
    case DType::i64:
      return "<i8";
    case DType::u8:
      return "|u1";
    case DType::bf16:
      return "";
  }
  return "";
}

// Maps a descr to a dtype; throws naming the file for descrs we do not read.
DType dtype_of_descr(const std::string& path, const std::string& d) {
  if (d == "<f4") return DType::f32;
  if (d == "<f8") return DType::f64;
  if (d == "<i8") return DType::i64;
  if (d == "|u1" || d == "<u1" || d == ">u1") return DType::u8;
  if (!d.empty() && d[0] == '>')
    SIGNET_FAIL(path, ": big-endian dtype '", d, "' is not supported (save little-endian)");
  SIGNET_FAIL(path, ": dtype '", d, "' is not supported (supported: <f4, <f8, <i8, |u1)");
}

// The parsed fields of the header dict.
struct Header {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
  bool has_descr = false, has_order = false, has_shape = false;
};

// Cursor over the Python-literal header dict, e.g. {'descr': '<f4', 'shape': (2, 3), }.
struct HeaderParser {
  const std::string& path;
  const std::string& text;
  size_t pos = 0;

  [[noreturn]] void fail(const char* what) const {
    SIGNET_FAIL(path, ": bad header: ", what, " at character ", pos, " of '", text, "'");
  }
  // Skips spaces.
  void skip() {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
  }
  // Consumes c after spaces, or fails.
  void expect(char c, const char* what) {
    skip();
    if (pos >= text.size() || text[pos] != c) fail(what);
    ++pos;
  }
  // Consumes c after spaces when it is next.
  bool accept(char c) {
    skip();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  // A quoted string (single or double quotes, no escapes: NumPy never writes them here).
  std::string quoted() {
    skip();
    if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"')) fail("expected a string");
    const char q = text[pos++];
    const size_t end = text.find(q, pos);
    if (end == std::string::npos) fail("unterminated string");
    std::string s = text.substr(pos, end - pos);
    pos = end + 1;
    return s;
  }
  // True or False.
  bool boolean() {
    skip();
    if (text.compare(pos, 4, "True") == 0) {
      pos += 4;
      return true;
    }
    if (text.compare(pos, 5, "False") == 0) {
      pos += 5;
      return false;
    }
    fail("expected True or False");
  }
  // A tuple of non-negative integers: (), (3,), (2, 3).
  Shape tuple() {
    expect('(', "expected '(' for shape");
    Shape s;
    while (!accept(')')) {
      skip();
      if (pos >= text.size() || !std::isdigit(static_cast<unsigned char>(text[pos])))
        fail("expected a non-negative integer in shape");
      int64_t v = 0;
      while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
        if (v > (INT64_MAX - 9) / 10) fail("shape size too large");
        v = v * 10 + (text[pos++] - '0');
      }
      s.push_back(v);
      if (!accept(',')) {
        expect(')', "expected ',' or ')' in shape");
        break;
      }
    }
    return s;
  }
  // The whole dict; unknown keys are an error.
  Header dict() {
    Header h;
    expect('{', "expected '{'");
    while (!accept('}')) {
      const std::string key = quoted();
      expect(':', "expected ':'");
      if (key == "descr") {
        h.descr = quoted();
        h.has_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
        h.has_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        h.has_shape = true;
      } else {
        SIGNET_FAIL(path, ": bad header: unknown key '", key, "'");
      }
      if (!accept(',')) {
        expect('}', "expected ',' or '}'");
        break;
      }
    }
    if (!h.has_descr || !h.has_order || !h.has_shape)
      SIGNET_FAIL(path, ": bad header: needs 'descr', 'fortran_order' and 'shape' in '", text, "'");
    return h;
  }
};

// The header dict text for t, padded with spaces and '\n' so the data starts 64-aligned.
std::string header_text(const Tensor& t, size_t prefix) {
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i)
    shape += (i > 0 ? ", " : "") + std::to_string(t.shape()[i]);
  shape += t.shape().size() == 1 ? ",)" : ")";
  std::string h = std::string("{'descr': '") + descr_of(t.dtype()) +
                  "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t total = prefix + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  return h;
}

// Appends v as little-endian bytes.
void put_le(std::string& out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

// Checks magic and version, parses the header, checks the data size, copies the data.
Tensor read_npy(const std::string& path) {
  const std::vector<char> bytes = read_file_bytes(path);
  SIGNET_CHECK(bytes.size() >= kMagicLen + 2 && std::memcmp(bytes.data(), kMagic, kMagicLen) == 0,
               path, ": not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  SIGNET_CHECK(major >= 1 && major <= 3 && minor == 0, path, ": .npy format version ", major, ".",
               minor, " is not supported (1.0, 2.0, 3.0)");
  const size_t len_bytes = major == 1 ? 2 : 4;
  SIGNET_CHECK(bytes.size() >= 8 + len_bytes, path, ": truncated header length");
  uint32_t header_len = 0;
  for (size_t i = 0; i < len_bytes; ++i)
    header_len |= uint32_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
  SIGNET_CHECK(header_len <= kMaxHeader, path, ": bad header: length ", header_len,
               " is larger than ", kMaxHeader);
  const size_t data_start = 8 + len_bytes + header_len;
  SIGNET_CHECK(bytes.size() >= data_start, path, ": truncated header (", header_len,
               " bytes announced, ", bytes.size() - 8 - len_bytes, " present)");
  const std::string text(bytes.data() + 8 + len_bytes, header_len);
  const Header h = HeaderParser{path, text}.dict();
  SIGNET_CHECK(!h.fortran_order, path, ": Fortran-order arrays are not supported (save C order)");
  const DType dtype = dtype_of_descr(path, h.descr);

  int64_t numel = 1;
  for (int64_t s : h.shape) {
    SIGNET_CHECK(s == 0 || numel <= INT64_MAX / s, path, ": shape ", shape_str(h.shape),
                 " is too large");
    numel *= s;
  }
  const size_t available = bytes.size() - data_start;
  SIGNET_CHECK(numel >= 0 && uint64_t(numel) <= available / dtype_size(dtype), path,
               ": truncated data (shape ", shape_str(h.shape), " of ", dtype_name(dtype), " needs ",
               uint64_t(numel) * dtype_size(dtype), " bytes, file has ", available, ")");
  const size_t nbytes = size_t(numel) * dtype_size(dtype);
  SIGNET_CHECK(available == nbytes, path, ": ", available - nbytes,
               " unexpected bytes after the data (shape ", shape_str(h.shape), ")");
  Tensor t = empty(h.shape, dtype);
  if (nbytes > 0) std::memcpy(t.raw_data(), bytes.data() + data_start, nbytes);
  return t;
}

// Makes the data contiguous, builds the header (v1.0 unless it needs v2.0) and writes.
void write_npy(const std::string& path, const Tensor& t) {
  SIGNET_CHECK(t.defined(), path, ": cannot write an undefined tensor");
  SIGNET_CHECK(t.dtype() != DType::bf16, path,
               ": .npy has no bf16 dtype; convert to f32 or write safetensors");
  SIGNET_CHECK(t.device().is_cpu(), path, ": write_npy needs a CPU tensor, got ", t.device().str());
  const Tensor c = t.detach().contiguous();
  std::string header = header_text(c, kMagicLen + 2 + 2);
  std::string prefix(kMagic, kMagicLen);
  if (header.size() <= 0xffff) {
    prefix += '\x01';
    prefix += '\0';
    put_le(prefix, uint32_t(header.size()), 2);
  } else {
    header = header_text(c, kMagicLen + 2 + 4);
    prefix += '\x02';
    prefix += '\0';
    put_le(prefix, uint32_t(header.size()), 4);
  }
  const size_t nbytes = size_t(c.numel()) * dtype_size(c.dtype());
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(prefix.data(), std::streamsize(prefix.size()));
    out.write(header.data(), std::streamsize(header.size()));
    if (nbytes > 0) out.write(static_cast<const char*>(c.raw_data()), std::streamsize(nbytes));
  });
}

}  // namespace signet::io
