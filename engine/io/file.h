// Whole-file reads and crash-safe writes (a temporary name renamed into place) for the io formats.
#pragma once
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace signet::io {

// All bytes of a file; throws signet::Error naming the file when it cannot be read.
std::vector<char> read_file_bytes(const std::string& path);
// A temporary name beside `path`, unique across processes and threads ("path.tmp.<pid>.<n>"),
// so two writers of the same file never share a temporary; rename it over `path` when complete.
std::string temporary_path_for(const std::string& path);
// Calls write(stream) on temporary_path_for(path), then renames it over `path`; the temporary
// is removed and signet::Error thrown naming the file when anything fails.
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write);

}  // namespace signet::io
