// Crash-safe writes (engine/io/file.h): unique temporaries, no temporary left behind, and two
// writers of one file never corrupting it.
#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/io/file.h"
#include "tests/support/fixtures.h"

namespace {

using signet::io::temporary_path_for;
using signet::io::write_file_atomically;
using signet::testing::read_bytes;
using signet::testing::TempDir;
using signet::testing::temporaries_beside;

TEST(AtomicWrite, TemporaryNamesAreUniqueAndBesideTheFile) {
  std::set<std::string> names;
  for (int i = 0; i < 100; ++i) names.insert(temporary_path_for("/some/dir/model.safetensors"));
  EXPECT_EQ(names.size(), 100u);
  for (const std::string& name : names)
    EXPECT_EQ(name.rfind("/some/dir/model.safetensors.tmp.", 0), 0u) << name;
}

TEST(AtomicWrite, FailedWriteKeepsTheOldFileAndLeavesNoTemporary) {
  TempDir dir("signet-atomic");
  const std::string path = dir.file("a.bin");
  write_file_atomically(path, [](std::ostream& out) { out << "old"; });
  EXPECT_THROW(write_file_atomically(path,
                                     [](std::ostream& out) {
                                       out << "half";
                                       throw std::runtime_error("crash mid-write");
                                     }),
               std::runtime_error);
  EXPECT_EQ(read_bytes(path), "old");
  EXPECT_TRUE(temporaries_beside(path).empty());
}

// Four threads rewrite one file with their own 1 MiB pattern: with a shared temporary name the
// writers truncate and rename each other's half-written files; with unique ones every rename
// installs one writer's complete content.
TEST(AtomicWrite, ConcurrentWritersOfOneFileNeverMixTheirBytes) {
  TempDir dir("signet-atomic");
  const std::string path = dir.file("shared.bin");
  const size_t size = size_t(1) << 20;
  std::vector<std::string> contents;
  for (char c : {'a', 'b', 'c', 'd'}) contents.emplace_back(size, c);
  std::vector<std::thread> writers;
  std::vector<int> failures(contents.size(), 0);
  for (size_t w = 0; w < contents.size(); ++w)
    writers.emplace_back([&, w] {
      for (int round = 0; round < 20; ++round) {
        try {
          write_file_atomically(path, [&](std::ostream& out) { out << contents[w]; });
        } catch (const std::exception&) {
          ++failures[w];
        }
      }
    });
  for (std::thread& t : writers) t.join();
  for (size_t w = 0; w < contents.size(); ++w) EXPECT_EQ(failures[w], 0) << "writer " << w;
  const std::string final_bytes = read_bytes(path);
  ASSERT_EQ(final_bytes.size(), size);
  EXPECT_EQ(final_bytes, std::string(size, final_bytes[0]));
  EXPECT_TRUE(temporaries_beside(path).empty());
}

}  // namespace
