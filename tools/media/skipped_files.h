// Input files a data set skipped (unreadable, truncated, empty, no frames) and the report a
// run prints about them: one warning per file naming it and the reason, then a summary.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace signet::media {

// A file left out of a data set, and why.
struct SkippedFile {
  std::string path;
  std::string reason;
};

// "skipped N of M files".
std::string skipped_summary(size_t skipped, size_t total);

// Prints "warning: skipping <path>: <reason>" for each file, then "<what>: skipped N of M
// files" when any were skipped, to stderr.
void report_skipped(const std::string& what, const std::vector<SkippedFile>& skipped, size_t total);

}  // namespace signet::media
