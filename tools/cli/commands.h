// Entry points of the `signet` subcommands; each returns the process exit code. A bad argument
// throws UsageError (tools/cli/args.h): one line, exit code 2.
#pragma once

namespace signet::cli {

// `signet info`: version, compiler, SIMD path, threads, CUDA build and devices.
int run_info(int argc, char** argv);
// `signet demo`: the main job on built-in data.
int run_demo(int argc, char** argv);
// `signet data`: fetches and converts built-in data sets (mnist).
int run_data(int argc, char** argv);
// `signet train`: trains a model from flags or a JSON config into a run folder.
int run_train(int argc, char** argv);
// `signet eval`: metrics and confusion matrix of a run or checkpoint on a split.
int run_eval(int argc, char** argv);
// `signet predict`: top-5 classes of videos, images or .npy tensors.
int run_predict(int argc, char** argv);
// `signet prep`: decodes a video folder once into .npy tensors.
int run_prep(int argc, char** argv);
// `signet summary MODEL`: layers, shapes, parameters, FLOPs and activation memory.
int run_summary(int argc, char** argv);

}  // namespace signet::cli
