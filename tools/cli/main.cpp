// The `signet` command line: dispatches to the subcommands and turns errors into exit codes
// (bad arguments 2, runtime failures 1).
#include <cstdio>
#include <cstring>
#include <exception>

#include "engine/error.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/synth.h"

namespace {

// Prints the list of commands to `out`.
void print_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: signet <command> [args]   (signet <command> --help for its options)\n"
               "\n"
               "commands:\n"
               "  demo     generate the gesture videos, train convlstm, test and predict\n"
               "  synth    write the synthetic gesture video set (data/synth by default)\n"
               "  data     fetch and convert built-in data (data mnist: real digits as CSV)\n"
               "  prep     decode a video folder once into .npy tensors\n"
               "  train    train a model from flags or a JSON config into a run folder\n"
               "  eval     metrics and confusion matrix of a run or checkpoint\n"
               "  predict  top-5 classes of videos, images or .npy tensors\n"
               "  summary  layers, shapes, parameters, FLOPs and memory of a model\n"
               "  bench    how to run the benchmarks\n"
               "  info     version, compiler, SIMD path, threads, CUDA build and devices\n"
               "\n"
               "options:\n"
               "  --help     this message\n"
               "  --version  the version\n");
}

// `signet bench`: the benchmarks are separate programs run by run.sh.
int run_bench(int argc, char** argv) {
  bool help = argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0);
  if (argc > 1 && !help)
    throw signet::cli::UsageError("bench", std::string("unknown argument '") + argv[1] + "'");
  std::printf(
      "usage: ./run.sh bench\n  the benchmarks are Google Benchmark programs (bench/bench_*.cpp) "
      "run by ./run.sh bench, not by signet\n");
  return 0;
}

// Runs one command; argv[0] of the subcommand is its own name.
int dispatch(int argc, char** argv) {
  using namespace signet::cli;
  if (argc < 2) {
    std::fprintf(stderr, "signet: no command (signet --help lists them)\n");
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
  struct Command {
    const char* name;
    int (*run)(int, char**);
  };
  static const Command commands[] = {
      {"info", run_info},       {"demo", run_demo},   {"data", run_data}, {"synth", run_synth},
      {"train", run_train},     {"eval", run_eval},   {"prep", run_prep}, {"predict", run_predict},
      {"summary", run_summary}, {"bench", run_bench},
  };
  for (const Command& c : commands)
    if (std::strcmp(cmd, c.name) == 0) return c.run(argc - 1, argv + 1);
  std::fprintf(stderr, "signet: unknown command '%s' (signet --help lists them)\n", cmd);
  return 2;
}

}  // namespace

// A bad argument becomes one line on stderr and exit code 2; any other error one line and 1.
int main(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const signet::cli::UsageError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "signet: error: %s\n", e.what());
  }
  return 1;
}
