// .npy files: round trips of every dtype and odd shapes, files written by Python
// (tests/fixtures/make_io_fixtures.py), and each bad-file case naming the file and problem.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "engine/io/npy.h"
#include "engine/tensor.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"

namespace {

using signet::DType;
using signet::Tensor;
using signet::io::read_npy;
using signet::io::write_npy;
using signet::testing::expect_error;
using signet::testing::fixture_path;
using signet::testing::read_bytes;
using signet::testing::temp_path;
using signet::testing::temporaries_beside;
using signet::testing::write_bytes;

// A v1.0 file with the given header dict and data bytes.
std::string npy_bytes(const std::string& dict, const std::string& data) {
  std::string header = dict + "\n";
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\0';
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  return out + header + data;
}

// Expects t and u to agree in shape, dtype and bytes.
void expect_same(const Tensor& t, const Tensor& u) {
  ASSERT_EQ(t.shape(), u.shape());
  ASSERT_EQ(t.dtype(), u.dtype());
  const Tensor a = t.contiguous(), b = u.contiguous();
  const std::string x(static_cast<const char*>(a.raw_data()),
                      size_t(a.numel()) * signet::dtype_size(a.dtype()));
  const std::string y(static_cast<const char*>(b.raw_data()),
                      size_t(b.numel()) * signet::dtype_size(b.dtype()));
  EXPECT_EQ(x, y);
}

TEST(Npy, RoundTripEveryDtypeAndShape) {
  const std::vector<signet::Shape> shapes = {{2, 3}, {}, {0}, {3, 0, 2}, {1, 1, 5}};
  int k = 0;
  for (DType dtype : {DType::f32, DType::f64, DType::i64, DType::u8}) {
    for (const signet::Shape& shape : shapes) {
      Tensor t = signet::arange(0.0, double(signet::shape_numel(shape)), 1.0, DType::f64).mul_(7);
      if (dtype != DType::u8) t.add_(signet::full(t.shape(), -3.0, DType::f64));
      t = t.to(dtype).reshape(shape);
      const std::string path = temp_path("rt" + std::to_string(k++) + ".npy");
      write_npy(path, t);
      expect_same(read_npy(path), t);
      EXPECT_TRUE(temporaries_beside(path).empty()) << "temporary left behind";
    }
  }
}

TEST(Npy, WritesCOrderFromAView) {
  Tensor t = signet::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}).t();
  const std::string path = temp_path("view.npy");
  write_npy(path, t);
  Tensor back = read_npy(path);
  EXPECT_EQ(back.shape(), (signet::Shape{3, 2}));
  EXPECT_EQ(back.to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

TEST(Npy, HeaderIsVersion1AndDataIs64Aligned) {
  const std::string path = temp_path("header.npy");
  write_npy(path, signet::zeros({4, 5}, DType::f64));
  const std::string bytes = read_bytes(path);
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(bytes[6], '\x01');
  const size_t header_len = size_t(uint8_t(bytes[8])) | size_t(uint8_t(bytes[9])) << 8;
  EXPECT_EQ((10 + header_len) % 64, 0u);
  EXPECT_EQ(bytes.size(), 10 + header_len + 4 * 5 * 8);
  const std::string header = bytes.substr(10, header_len);
  EXPECT_NE(header.find("'descr': '<f8'"), std::string::npos) << header;
  EXPECT_NE(header.find("'shape': (4, 5)"), std::string::npos) << header;
  EXPECT_EQ(header.back(), '\n');
}

TEST(Npy, OverwritesAnExistingFile) {
  const std::string path = temp_path("over.npy");
  write_npy(path, signet::ones({100}));
  write_npy(path, signet::full({2}, 3.0, DType::i64));
  EXPECT_EQ(read_npy(path).to_vector<int64_t>(), (std::vector<int64_t>{3, 3}));
}

TEST(Npy, ReadsFilesWrittenByPython) {
  Tensor f = read_npy(fixture_path("io_f32_2x3.npy"));
  EXPECT_EQ(f.shape(), (signet::Shape{2, 3}));
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{0.5f, -1.25f, 2, 3.5f, -4, 1e-3f}));
  Tensor i = read_npy(fixture_path("io_i64_scalar.npy"));
  EXPECT_EQ(i.dim(), 0);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{-1234567890123}));
  Tensor u = read_npy(fixture_path("io_u8_4.npy"));
  EXPECT_EQ(u.shape(), (signet::Shape{4}));
  EXPECT_EQ(u.to_vector<uint8_t>(), (std::vector<uint8_t>{0, 1, 128, 255}));
}

TEST(Npy, RefusesBf16) {
  Tensor t = signet::ones({2}).to(DType::bf16);
  expect_error([&] { write_npy(temp_path("bf16.npy"), t); }, {"bf16.npy", "bf16", "safetensors"});
}

TEST(Npy, TruncatedDataNamesFileAndSizes) {
  const std::string path = temp_path("cut.npy");
  write_npy(path, signet::ones({3, 4}));
  const std::string bytes = read_bytes(path);
  write_bytes(path, bytes.substr(0, bytes.size() - 5));
  expect_error([&] { read_npy(path); }, {"cut.npy", "truncated data", "[3, 4]", "48 bytes"});
  write_bytes(path, bytes.substr(0, 20));
  expect_error([&] { read_npy(path); }, {"cut.npy", "truncated header"});
  write_bytes(path, bytes.substr(0, 7));
  expect_error([&] { read_npy(path); }, {"cut.npy", "bad magic"});
}

TEST(Npy, BadHeadersNameTheProblem) {
  const std::string path = temp_path("bad.npy");
  const std::string four(4, '\0');
  write_bytes(path, "PK\x03\x04 not numpy at all");
  expect_error([&] { read_npy(path); }, {"bad.npy", "not a .npy file"});
  write_bytes(path, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,}", four));
  expect_error([&] { read_npy(path); }, {"bad.npy", "bad header"});
  write_bytes(path, npy_bytes("{'descr': '<f4', 'shape': (1,), }", four));
  expect_error([&] { read_npy(path); }, {"bad.npy", "bad header", "fortran_order"});
  write_bytes(path, npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", four));
  expect_error([&] { read_npy(path); }, {"bad.npy", "Fortran"});
  write_bytes(path, npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", four));
  expect_error([&] { read_npy(path); }, {"bad.npy", "big-endian", ">f4"});
  write_bytes(path, npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", four));
  expect_error([&] { read_npy(path); }, {"bad.npy", "'<i4' is not supported"});
  write_bytes(path,
              npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", four + "xx"));
  expect_error([&] { read_npy(path); }, {"bad.npy", "2 unexpected bytes"});
  std::string v9 = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", four);
  v9[6] = 9;
  write_bytes(path, v9);
  expect_error([&] { read_npy(path); }, {"bad.npy", "version 9.0"});
}

TEST(Npy, EveryCorruptedOrCutByteGivesAnErrorOrATensor) {
  const std::string path = temp_path("corrupt.npy");
  write_npy(path, signet::ones({2, 3}, DType::f64));
  const std::string good = read_bytes(path);
  const auto read_or_error = [&](const std::string& bytes) {
    write_bytes(path, bytes);
    try {
      read_npy(path);
    } catch (const signet::Error&) {
    }
  };
  for (size_t at = 0; at < good.size(); ++at) {
    read_or_error(good.substr(0, at));
    for (char c : {'\0', '\'', '(', ')', ',', '9', '\xff'}) {
      std::string bytes = good;
      bytes[at] = c;
      read_or_error(bytes);
    }
  }
}

TEST(Npy, MissingFileNamesIt) {
  expect_error([&] { read_npy(temp_path("nowhere.npy")); }, {"nowhere.npy", "cannot open"});
}

}  // namespace
