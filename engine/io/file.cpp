#include "engine/io/file.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "engine/error.h"

namespace signet::io {

// Reads the file in one go.
std::vector<char> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SIGNET_CHECK(in, path, ": cannot open for reading");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  SIGNET_CHECK(!in.bad(), path, ": read failed");
  return bytes;
}

// Appends the process id and a per-process counter to the file name.
std::string temporary_path_for(const std::string& path) {
  static std::atomic<unsigned long> counter{0};
  return path + ".tmp." + std::to_string(long(getpid())) + "." + std::to_string(counter++);
}

// Writes the temporary, checks the stream, renames; cleans up on any failure.
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write) {
  const std::string tmp = temporary_path_for(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    SIGNET_CHECK(out, tmp, ": cannot open for writing");
    try {
      write(out);
    } catch (...) {
      out.close();
      std::remove(tmp.c_str());
      throw;
    }
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      SIGNET_FAIL(tmp, ": write failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    SIGNET_FAIL(path, ": cannot rename ", tmp, " into place");
  }
}

}  // namespace signet::io
