#include "engine/error.h"

namespace signet::detail {

void throw_error(const char* file, int line, const std::string& message) {
  const char* base = file;
  for (const char* p = file; *p; ++p)
    if (p[0] == '/' &&
        (std::string(p + 1).rfind("engine/", 0) == 0 ||
         std::string(p + 1).rfind("kernels/", 0) == 0 ||
         std::string(p + 1).rfind("models/", 0) == 0 || std::string(p + 1).rfind("tools/", 0) == 0))
      base = p + 1;
  throw Error(message + " [" + base + ":" + std::to_string(line) + "]");
}

}  // namespace signet::detail
