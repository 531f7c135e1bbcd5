// Errors: every user-facing failure is a signet::Error naming what failed and where.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace signet {

// The one exception type the engine throws for bad shapes, arguments, files and states.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
// Throws signet::Error with the message and the source location appended.
[[noreturn]] void throw_error(const char* file, int line, const std::string& message);

// Concatenates anything printable with operator<< into one string.
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream s;
  (s << ... << args);
  return s.str();
}
}  // namespace detail
}  // namespace signet

// Checks a condition that user input can violate; never compiled out in release builds.
#define SIGNET_CHECK(cond, ...)                                                              \
  do {                                                                                       \
    if (!(cond))                                                                             \
      ::signet::detail::throw_error(__FILE__, __LINE__, ::signet::detail::cat(__VA_ARGS__)); \
  } while (0)

// Fails unconditionally with a message.
#define SIGNET_FAIL(...) \
  ::signet::detail::throw_error(__FILE__, __LINE__, ::signet::detail::cat(__VA_ARGS__))
