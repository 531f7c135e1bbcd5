// Entry points of the `signet` subcommands; each returns the process exit code.
#pragma once

namespace signet::cli {

// `signet info`: version, compiler, SIMD path, threads, CUDA build and devices.
int run_info(int argc, char** argv);
// `signet demo`: the main job on built-in data.
int run_demo(int argc, char** argv);
// `signet data`: fetches and converts built-in data sets (mnist).
int run_data(int argc, char** argv);

}  // namespace signet::cli
