// Test data: reference data made by the scripts in tests/fixtures/ (PyTorch outputs committed
// as text), temporary files and folders, and random inputs.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace signet::testing {

// The path of tests/fixtures/<name>.
std::string fixture_path(const std::string& name);

// A path in the test's temporary folder.
std::string temp_path(const std::string& name);
// The temporaries a crash-safe writer left beside `path` (names starting "<file>.tmp").
std::vector<std::string> temporaries_beside(const std::string& path);
// The bytes of a file ("" when it cannot be read).
std::string read_bytes(const std::string& path);
// Writes raw bytes to a file.
void write_bytes(const std::string& path, const std::string& bytes);

// A fresh temporary folder, removed with its contents at scope end.
struct TempDir {
  std::filesystem::path path;
  // Creates <tmp>/<prefix>-XXXXXX.
  explicit TempDir(const std::string& prefix = "signet-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // The path of name inside the folder.
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// n floats uniform in [-1, 1) from seed (std::mt19937: independent of the engine's Philox).
std::vector<float> uniform_floats(size_t n, unsigned seed);

// The tensors of a text fixture by key, as f64 tensors. One tensor per line:
// "key ndim d0 d1 ... v0 v1 ..."; empty lines and lines starting with '#' are skipped.
std::map<std::string, Tensor> load_text_fixture(const std::string& name);

// Expects got to have want's shape and every element within tol (absolute) of want's.
void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what);

// Expects got to have want's size and every element within tol * (1 + |want|) of want's.
void expect_close_relative(const std::vector<float>& got, const std::vector<float>& want,
                           double tol, const std::string& what);

}  // namespace signet::testing
