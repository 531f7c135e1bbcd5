// Command-line argument helpers shared by the subcommands: a usage error (exit code 2, one
// line) and strict number parsing.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace signet::cli {

// A bad argument: main() prints "signet <command>: <message>" as one line and exits with 2.
class UsageError : public std::runtime_error {
 public:
  UsageError(const std::string& command, const std::string& message)
      : std::runtime_error("signet " + command + ": " + message) {}
};

// The whole of text as an integer; otherwise a UsageError naming the flag.
int64_t parse_int(const std::string& command, const std::string& flag, const std::string& text);
// The whole of text as a finite number; otherwise a UsageError naming the flag.
double parse_double(const std::string& command, const std::string& flag, const std::string& text);

// Walks argv (argv[0] is the command name) one argument at a time.
class ArgCursor {
 public:
  ArgCursor(std::string command, int argc, char** argv)
      : command_(std::move(command)), argc_(argc), argv_(argv) {}
  // True while arguments remain.
  bool more() const { return i_ < argc_; }
  // The next argument, consumed.
  std::string next() { return argv_[i_++]; }
  // The value after flag, consumed; a UsageError when there is none.
  std::string value(const std::string& flag);
  const std::string& command() const { return command_; }

 private:
  std::string command_;
  int argc_;
  char** argv_;
  int i_ = 1;
};

}  // namespace signet::cli
