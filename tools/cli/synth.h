// Entry point of `signet synth` (registered in main.cpp beside the commands of commands.h).
#pragma once

namespace signet::cli {

// `signet synth`: writes the built-in synthetic gesture video set.
int run_synth(int argc, char** argv);

}  // namespace signet::cli
