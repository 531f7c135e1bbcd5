// `signet prep`: decodes a video folder (split/class/file, as `signet synth` writes it) once
// into .npy tensors: OUT/<split>_x.npy (N, T, C, H, W) u8, OUT/<split>_y.npy (N) i64 (with
// --padding zeros also OUT/<split>_len.npy (N) i64, the real frames) and OUT/classes.txt, which
// `signet train --data OUT` reads without decoding again.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/io/npy.h"
#include "engine/ops.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/datasets.h"
#include "tools/cli/run_config.h"

namespace signet::cli {
namespace {

// Prints the usage.
void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: signet prep --data VIDEO_DIR --out DIR [--frames T] [--size S]\n"
               "                   [--padding loop_reverse|repeat_last|stretch|zeros]\n"
               "  writes DIR/{train,val,test}_x.npy (N, T, C, H, W) u8, _y.npy (N) i64 and\n"
               "  DIR/classes.txt; with --padding zeros also _len.npy (N) i64, each clip's\n"
               "  real frames; defaults: --frames 16 --size 32 --padding loop_reverse\n");
}

// Writes one decoded split as u8 clips and i64 labels (and i64 lengths when zero-padded).
void write_split(const media::ClipDataset& ds, const std::string& out, const std::string& split,
                 bool lengths) {
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels, frames;
  Shape sample;
  for (int64_t i = 0; i < ds.size(); ++i) {
    data::Sample s = ds.get(i);  // f32 (T, C, H, W) holding u8 / 255
    sample = s.input.shape();
    for (float v : s.input.contiguous().to_vector<float>())
      pixels.push_back(static_cast<uint8_t>(std::lround(v * 255.0f)));
    labels.push_back(s.label);
    frames.push_back(s.length);
  }
  Shape shape = {ds.size()};
  shape.insert(shape.end(), sample.begin(), sample.end());
  io::write_npy(out + "/" + split + "_x.npy", from_vector(pixels, shape));
  io::write_npy(out + "/" + split + "_y.npy", from_vector(labels, {ds.size()}));
  if (lengths) io::write_npy(out + "/" + split + "_len.npy", from_vector(frames, {ds.size()}));
  std::printf("  %s: %lld clips %s\n", split.c_str(), static_cast<long long>(ds.size()),
              shape_str(shape).c_str());
}

}  // namespace

int run_prep(int argc, char** argv) {
  std::string data_dir, out;
  media::ClipOptions co;
  co.frames = 16;
  co.size = 32;
  ArgCursor args("prep", argc, argv);
  while (args.more()) {
    std::string a = args.next();
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--data") {
      data_dir = args.value(a);
    } else if (a == "--out") {
      out = args.value(a);
    } else if (a == "--frames") {
      co.frames = parse_int("prep", a, args.value(a));
    } else if (a == "--size") {
      co.size = static_cast<int>(parse_int("prep", a, args.value(a)));
    } else if (a == "--padding") {
      co.padding = parse_padding("prep", args.value(a));
    } else {
      throw UsageError("prep", "unknown argument '" + a + "'");
    }
  }
  if (data_dir.empty() || out.empty()) throw UsageError("prep", "--data and --out are required");
  if (co.frames < 1 || co.size < 1)
    throw UsageError("prep", "--frames and --size must be positive");
  if (detect_format("prep", data_dir) != "video")
    throw UsageError("prep", "--data " + data_dir + " is not a video folder (split/class/file)");
  std::filesystem::create_directories(out);
  std::vector<std::string> names;
  std::printf("signet prep: %s -> %s (%lld frames, %dx%d, padding %s)\n", data_dir.c_str(),
              out.c_str(), static_cast<long long>(co.frames), co.size, co.size,
              media::short_clip_padding_name(co.padding));
  for (const char* split : {"train", "val", "test"}) {
    std::vector<media::LabelledVideo> files = video_split(data_dir, split, &names);
    if (files.empty()) continue;
    write_split(media::ClipDataset(files, co), out, split,
                co.padding == media::ShortClipPadding::zeros);
  }
  std::ofstream f(out + "/classes.txt");
  for (const std::string& n : names) f << n << "\n";
  return 0;
}

}  // namespace signet::cli
