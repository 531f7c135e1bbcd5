#include "tools/cli/args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace signet::cli {

int64_t parse_int(const std::string& command, const std::string& flag, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE)
    throw UsageError(command, flag + " expects an integer, got '" + text + "'");
  return static_cast<int64_t>(v);
}

double parse_double(const std::string& command, const std::string& flag, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    throw UsageError(command, flag + " expects a number, got '" + text + "'");
  return v;
}

std::string ArgCursor::value(const std::string& flag) {
  if (i_ >= argc_) throw UsageError(command_, flag + " needs a value");
  return argv_[i_++];
}

}  // namespace signet::cli
