// safetensors files: round trips of every dtype (bf16 included) with 0-d and empty shapes
// and metadata, a file written by Python (tests/fixtures/make_io_fixtures.py), the header
// JSON, and each bad-file case naming the file and the problem.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "engine/io/json.h"
#include "engine/io/safetensors.h"
#include "engine/tensor.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixtures.h"

namespace {

using signet::DType;
using signet::Tensor;
using signet::io::read_safetensors;
using signet::io::write_safetensors;
using signet::testing::expect_error;
using signet::testing::fixture_path;
using signet::testing::read_bytes;
using signet::testing::temp_path;
using signet::testing::temporaries_beside;
using signet::testing::write_bytes;

// A file with the given header text (length prefix added) and data bytes.
std::string st_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((uint64_t(header.size()) >> (8 * i)) & 0xff);
  return out + header + data;
}

// The raw bytes of a tensor.
std::string raw(const Tensor& t) {
  const Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.raw_data()),
                     size_t(c.numel()) * signet::dtype_size(c.dtype()));
}

TEST(Safetensors, RoundTripEveryDtypeShapeAndMetadata) {
  std::map<std::string, Tensor> tensors;
  int k = 0;
  for (DType dtype : {DType::f32, DType::f64, DType::i64, DType::u8, DType::bf16})
    for (const signet::Shape& shape : {signet::Shape{2, 3}, signet::Shape{}, signet::Shape{0},
                                       signet::Shape{4, 0}, signet::Shape{3}}) {
      Tensor t = signet::arange(0.0, double(signet::shape_numel(shape)), 1.0, DType::f64).mul_(3);
      if (dtype != DType::u8) t.add_(signet::full(t.shape(), -2.5, DType::f64));
      tensors["t" + std::to_string(k++) + "." + signet::dtype_name(dtype)] =
          t.to(dtype).reshape(shape);
    }
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"epoch", "3"}};
  const std::string path = temp_path("rt.safetensors");
  write_safetensors(path, tensors, metadata);
  EXPECT_TRUE(temporaries_beside(path).empty()) << "temporary left behind";
  const signet::io::SafetensorsData back = read_safetensors(path);
  EXPECT_EQ(back.metadata, metadata);
  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(back.tensors.count(name)) << name;
    const Tensor& u = back.tensors.at(name);
    EXPECT_EQ(u.shape(), t.shape()) << name;
    EXPECT_EQ(u.dtype(), t.dtype()) << name;
    EXPECT_EQ(raw(u), raw(t)) << name;
  }
}

TEST(Safetensors, HeaderIsPaddedTo8AndDataPackedWidestFirst) {
  const std::string path = temp_path("layout.safetensors");
  write_safetensors(path, {{"b", signet::ones({3}, DType::u8)},
                           {"a", signet::ones({2})},
                           {"c", signet::ones({1}, DType::f64)},
                           {"d", signet::ones({1}, DType::bf16)}});
  const std::string bytes = read_bytes(path);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(uint8_t(bytes[size_t(i)])) << (8 * i);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + 8 + 2 * 4 + 2 + 3);
  const std::string header = bytes.substr(8, n);
  for (const char* entry : {"\"c\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}",
                            "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}",
                            "\"d\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[16,18]}",
                            "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[18,21]}"})
    EXPECT_NE(header.find(entry), std::string::npos) << entry << " not in " << header;
  EXPECT_EQ(header.find("__metadata__"), std::string::npos) << header;
}

TEST(Safetensors, WritesAViewInCOrder) {
  const std::string path = temp_path("view.safetensors");
  write_safetensors(path, {{"w", signet::from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}).t()}});
  Tensor w = read_safetensors(path).tensors.at("w");
  EXPECT_EQ(w.shape(), (signet::Shape{3, 2}));
  EXPECT_EQ(w.to_vector<double>(), (std::vector<double>{1, 4, 2, 5, 3, 6}));
}

TEST(Safetensors, ReadsAFileWrittenByPython) {
  const signet::io::SafetensorsData d = read_safetensors(fixture_path("io_mixed.safetensors"));
  EXPECT_EQ(d.metadata.at("format"), "pt");
  EXPECT_EQ(d.metadata.at("note"), "made by make_io_fixtures.py");
  ASSERT_EQ(d.tensors.size(), 5u);
  EXPECT_EQ(d.tensors.at("weight").shape(), (signet::Shape{2, 2}));
  EXPECT_EQ(d.tensors.at("weight").to_vector<float>(), (std::vector<float>{1, -2, 0.25f, 8}));
  EXPECT_EQ(d.tensors.at("steps").to_vector<int64_t>(),
            (std::vector<int64_t>{1, -1, int64_t(1) << 62}));
  const Tensor half = d.tensors.at("half");
  EXPECT_EQ(half.dtype(), DType::bf16);
  EXPECT_EQ(half.to(DType::f32).to_vector<float>(), (std::vector<float>{1.5f, -3.0f}));
  EXPECT_EQ(d.tensors.at("empty").shape(), (signet::Shape{0, 4}));
  EXPECT_EQ(d.tensors.at("empty").dtype(), DType::u8);
  EXPECT_EQ(d.tensors.at("scale").dim(), 0);
  EXPECT_EQ(d.tensors.at("scale").item(), 0.1);
}

TEST(Safetensors, TruncatedFileNamesFileAndSizes) {
  const std::string path = temp_path("cut.safetensors");
  write_safetensors(path, {{"x", signet::ones({4, 4})}});
  const std::string bytes = read_bytes(path);
  write_bytes(path, bytes.substr(0, bytes.size() - 1));
  expect_error([&] { read_safetensors(path); }, {"cut.safetensors", "'x'", "truncated"});
  write_bytes(path, bytes.substr(0, 20));
  expect_error([&] { read_safetensors(path); }, {"cut.safetensors", "truncated file", "header"});
  write_bytes(path, bytes.substr(0, 5));
  expect_error([&] { read_safetensors(path); }, {"cut.safetensors", "truncated file", "5 bytes"});
}

TEST(Safetensors, BadHeadersNameTheProblem) {
  const std::string path = temp_path("bad.safetensors");
  const std::string f32x2(8, '\0');
  const auto check = [&](const std::string& bytes, std::initializer_list<const char*> parts) {
    write_bytes(path, bytes);
    expect_error([&] { read_safetensors(path); }, parts);
  };
  check(st_bytes("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]", f32x2),
        {"bad.safetensors", "bad JSON at byte"});
  check(st_bytes("[1, 2]", ""), {"bad.safetensors", "not a JSON object"});
  check(st_bytes("{\"x\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", f32x2),
        {"bad.safetensors", "'x'", "F16", "not supported"});
  check(st_bytes("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", f32x2),
        {"bad.safetensors", "'x'", "needs 12"});
  check(st_bytes("{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", f32x2),
        {"bad.safetensors", "'x'", "non-negative"});
  check(st_bytes("{\"x\":{\"dtype\":\"F32\",\"shape\":[2]}}", f32x2),
        {"bad.safetensors", "'x'", "data_offsets"});
  check(st_bytes("{\"x\":{\"dtype\":\"U8\",\"shape\":[6],\"data_offsets\":[0,6]},"
                 "\"y\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}",
                 f32x2),
        {"bad.safetensors", "'x' and 'y' overlap"});
  check(st_bytes("{\"x\":{},\"x\":{}}", ""), {"bad.safetensors", "duplicate key \"x\""});
  check(st_bytes("{\"__metadata__\":{\"n\":3}}", ""), {"bad.safetensors", "'n'", "not a string"});
  check(std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + "{}",
        {"bad.safetensors", "is larger than"});
}

TEST(Safetensors, EveryCorruptedOrCutByteGivesAnErrorOrAFile) {
  const std::string path = temp_path("corrupt.safetensors");
  write_safetensors(path, {{"w", signet::ones({2, 2})}, {"n", signet::ones({3}, DType::i64)}},
                    {{"k", "v"}});
  const std::string good = read_bytes(path);
  const auto read_or_error = [&](const std::string& bytes) {
    write_bytes(path, bytes);
    try {
      read_safetensors(path);
    } catch (const signet::Error&) {
    }
  };
  for (size_t at = 0; at < good.size(); ++at) {
    read_or_error(good.substr(0, at));
    for (char c : {'\0', '"', '{', '[', '9', '-', '\xff'}) {
      std::string bytes = good;
      bytes[at] = c;
      read_or_error(bytes);
    }
  }
}

TEST(Safetensors, MissingFileNamesIt) {
  expect_error([&] { read_safetensors(temp_path("nowhere.safetensors")); },
               {"nowhere.safetensors", "cannot open"});
}

TEST(Json, ParsesEscapesUnicodeAndNumbers) {
  const signet::io::Json v = signet::io::parse_json(
      " {\"s\": \"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\", \"n\": [-0, 12, 2.5e-1, 9007199254740993],"
      " \"b\": [true, false, null], \"e\": {}} ",
      "test");
  EXPECT_EQ(v.find("s")->str, "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80");
  const auto& n = v.find("n")->items;
  ASSERT_EQ(n.size(), 4u);
  EXPECT_TRUE(n[1].is_integer);
  EXPECT_EQ(n[1].integer, 12);
  EXPECT_FALSE(n[2].is_integer);
  EXPECT_EQ(n[2].number, 0.25);
  EXPECT_EQ(n[3].integer, 9007199254740993);
  EXPECT_TRUE(v.find("b")->items[0].boolean);
  EXPECT_EQ(v.find("b")->items[2].kind, signet::io::Json::Kind::null);
  EXPECT_EQ(v.find("missing"), nullptr);
}

TEST(Json, DumpThenParseKeepsStringsAndOrder) {
  signet::io::Json o = signet::io::Json::object();
  o.set("z \"quoted\"\n", signet::io::Json::of("tab\there\x01"));
  o.set("a", signet::io::Json::of(int64_t(-7)));
  for (int indent : {0, 2}) {
    const signet::io::Json back = signet::io::parse_json(signet::io::dump_json(o, indent), "test");
    ASSERT_EQ(back.members.size(), 2u);
    EXPECT_EQ(back.members[0].first, "z \"quoted\"\n");
    EXPECT_EQ(back.members[0].second.str, "tab\there\x01");
    EXPECT_EQ(back.members[1].second.integer, -7);
  }
}

TEST(Json, RefusesBadText) {
  const auto bad = [](const std::string& text, const char* part) {
    expect_error([&] { signet::io::parse_json(text, "ctx"); }, {"ctx", part});
  };
  bad("{\"a\": 1,}", "expected a member name");
  bad("[1 2]", "expected ',' or ']'");
  bad("\"abc", "unterminated string");
  bad("\"\\ud800\"", "unpaired surrogate");
  bad("01", "unexpected text after the value");
  bad("1.", "expected a digit");
  bad("[1] x", "unexpected text after the value");
  bad(std::string(100, '['), "nesting deeper than 64");
  bad("", "unexpected end of text");
}

}  // namespace
