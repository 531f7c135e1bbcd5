// The `signet` command line: dispatches to the subcommands and turns errors into exit codes.
#include <cstdio>
#include <cstring>
#include <exception>
#include <initializer_list>

#include "engine/error.h"
#include "tools/cli/commands.h"
#include "tools/cli/synth.h"

namespace {

// Prints the list of commands to `out`.
void print_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: signet <command> [args]\n"
               "\n"
               "commands:\n"
               "  demo     generate the gesture videos, train convlstm, test and predict\n"
               "  data     fetch and convert built-in data (data mnist: real digits as CSV)\n"
               "  synth    write the synthetic gesture video set (data/synth by default)\n"
               "  info     version, compiler, SIMD path, threads, CUDA build and devices\n"
               "\n"
               "planned: prep, train, eval, predict, bench, summary\n"
               "\n"
               "options:\n"
               "  --help     this message\n"
               "  --version  the version\n");
}

// True for the commands of later issues.
bool is_planned(const char* cmd) {
  for (const char* name : {"prep", "train", "eval", "predict", "bench", "summary"})
    if (std::strcmp(cmd, name) == 0) return true;
  return false;
}

// Runs one command; argv[0] of the subcommand is its own name.
int dispatch(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const char* cmd = argv[1];
  if (std::strcmp(cmd, "--help") == 0 || std::strcmp(cmd, "-h") == 0 ||
      std::strcmp(cmd, "help") == 0) {
    print_usage(stdout);
    return 0;
  }
  if (std::strcmp(cmd, "--version") == 0) {
    std::printf("signet %s\n", SIGNET_VERSION);
    return 0;
  }
  if (std::strcmp(cmd, "info") == 0) return signet::cli::run_info(argc - 1, argv + 1);
  if (std::strcmp(cmd, "demo") == 0) return signet::cli::run_demo(argc - 1, argv + 1);
  if (std::strcmp(cmd, "data") == 0) return signet::cli::run_data(argc - 1, argv + 1);
  if (std::strcmp(cmd, "synth") == 0) return signet::cli::run_synth(argc - 1, argv + 1);
  if (is_planned(cmd)) {
    std::fprintf(stderr, "signet: '%s' is not available yet\n", cmd);
    return 2;
  }
  std::fprintf(stderr, "signet: unknown command '%s'\n\n", cmd);
  print_usage(stderr);
  return 2;
}

}  // namespace

// Every error that reaches the top becomes one line on stderr and exit code 1.
int main(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const signet::Error& e) {
    std::fprintf(stderr, "signet: error: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "signet: error: %s\n", e.what());
  }
  return 1;
}
