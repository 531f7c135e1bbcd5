// `signet prep`: decodes a video folder (split/class/file, as `signet synth` writes it) once
// into .npy tensors: OUT/<split>_x.npy (N, T, C, H, W) u8, OUT/<split>_y.npy (N) i64 and
// OUT/classes.txt, which `signet train --data OUT` reads without decoding again.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/io/npy.h"
#include "engine/ops.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/datasets.h"

namespace signet::cli {
namespace {

// Prints the usage.
void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: signet prep --data VIDEO_DIR --out DIR [--frames T] [--size S]\n"
               "  writes DIR/{train,val,test}_x.npy (N, T, C, H, W) u8, _y.npy (N) i64 and\n"
               "  DIR/classes.txt; defaults: --frames 16 --size 32\n");
}

// Writes one decoded split as u8 clips and i64 labels.
void write_split(const media::ClipDataset& ds, const std::string& out, const std::string& split) {
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  Shape sample;
  for (int64_t i = 0; i < ds.size(); ++i) {
    data::Sample s = ds.get(i);  // f32 (T, C, H, W) holding u8 / 255
    sample = s.input.shape();
    for (float v : s.input.contiguous().to_vector<float>())
      pixels.push_back(static_cast<uint8_t>(std::lround(v * 255.0f)));
    labels.push_back(s.label);
  }
  Shape shape = {ds.size()};
  shape.insert(shape.end(), sample.begin(), sample.end());
  io::write_npy(out + "/" + split + "_x.npy", from_vector(pixels, shape));
  io::write_npy(out + "/" + split + "_y.npy", from_vector(labels, {ds.size()}));
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
  std::printf("signet prep: %s -> %s (%lld frames, %dx%d)\n", data_dir.c_str(), out.c_str(),
              static_cast<long long>(co.frames), co.size, co.size);
  for (const char* split : {"train", "val", "test"}) {
    std::vector<media::LabelledVideo> files = video_split(data_dir, split, &names);
    if (files.empty()) continue;
    write_split(media::ClipDataset(files, co), out, split);
  }
  std::ofstream f(out + "/classes.txt");
  for (const std::string& n : names) f << n << "\n";
  return 0;
}

}  // namespace signet::cli
