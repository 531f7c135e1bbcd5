#include "tools/media/skipped_files.h"

#include <cstdio>

namespace signet::media {

std::string skipped_summary(size_t skipped, size_t total) {
  return "skipped " + std::to_string(skipped) + " of " + std::to_string(total) + " files";
}

void report_skipped(const std::string& what, const std::vector<SkippedFile>& skipped,
                    size_t total) {
  for (const SkippedFile& s : skipped)
    std::fprintf(stderr, "warning: skipping %s: %s\n", s.path.c_str(), s.reason.c_str());
  if (!skipped.empty())
    std::fprintf(stderr, "%s: %s\n", what.c_str(), skipped_summary(skipped.size(), total).c_str());
}

}  // namespace signet::media
