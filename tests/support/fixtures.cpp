#include "tests/support/fixtures.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <vector>

namespace signet::testing {

std::string fixture_path(const std::string& name) {
  std::string here = __FILE__;  // .../tests/support/fixtures.cpp
  std::string tests = here.substr(0, here.rfind('/', here.rfind('/') - 1) + 1);
  return tests + "fixtures/" + name;
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + name;
}

// Scans the file's folder for names that start with the file name plus ".tmp".
std::vector<std::string> temporaries_beside(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string prefix = p.filename().string() + ".tmp";
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(p.parent_path()))
    if (entry.path().filename().string().rfind(prefix, 0) == 0)
      found.push_back(entry.path().string());
  return found;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  EXPECT_NE(mkdtemp(pattern.data()), nullptr) << "cannot create " << pattern;
  path = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

std::vector<float> uniform_floats(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

std::map<std::string, Tensor> load_text_fixture(const std::string& name) {
  std::ifstream in(fixture_path(name));
  EXPECT_TRUE(in.good()) << "cannot open fixture " << fixture_path(name);
  std::map<std::string, Tensor> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    std::string key;
    int64_t ndim = 0;
    s >> key >> ndim;
    Shape shape(static_cast<size_t>(ndim));
    for (int64_t& d : shape) s >> d;
    std::vector<double> values(static_cast<size_t>(shape_numel(shape)));
    for (double& v : values) s >> v;
    EXPECT_FALSE(s.fail()) << "fixture " << name << ": short line for " << key;
    out[key] = from_vector(values, shape);
  }
  return out;
}

void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what << " is undefined";
  ASSERT_EQ(got.shape(), want.shape()) << what;
  std::vector<double> g = got.to(DType::f64).contiguous().to_vector<double>();
  std::vector<double> w = want.to(DType::f64).contiguous().to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], w[i], tol) << what << " element " << i;
}

void expect_close_relative(const std::vector<float>& got, const std::vector<float>& want,
                           double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << what << " at " << i;
}

}  // namespace signet::testing
