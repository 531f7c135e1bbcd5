// `signet synth`: writes the synthetic gesture video set (tools/media/gesture_synth.h) as
// folder-per-class video files for the train, val and test splits, plus manifest.json with
// every option, the seeds and each clip's label.
#include "tools/cli/synth.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/json.h"
#include "tools/media/gesture_synth.h"
#include "tools/media/video_reader.h"
#include "tools/media/video_writer.h"

namespace signet::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kGenerator = "signet synth";
constexpr const char* kSplitNames[3] = {"train", "val", "test"};

// Everything the command line sets.
struct SynthArgs {
  fs::path out = "data/synth";
  int64_t counts[3] = {600, 100, 100};
  uint64_t seed = 0;
  int threads = 0;
  media::SynthOptions options;
};

// Prints the usage with the defaults.
void usage(std::FILE* out) {
  const SynthArgs d;
  const media::SynthOptions& o = d.options;
  std::fprintf(out,
               "usage: signet synth [options]\n"
               "\n"
               "  Writes a synthetic gesture video set: a drawn hand (open, fist, point or V,\n"
               "  drawn at random) moving in one of ten motions (swipe left/right/up/down,\n"
               "  circle cw/ccw, zoom in/out, wave, push) over a noisy, cluttered background.\n"
               "  Files: DIR/<split>/<class>/<split>_<index>.mp4 and DIR/manifest.json.\n"
               "\n"
               "  --out DIR         output folder (default %s)\n"
               "  --classes N       motions used, the first N of the ten (default %d)\n"
               "  --train N         training clips (default %lld)\n"
               "  --val N           validation clips (default %lld)\n"
               "  --test N          test clips (default %lld)\n"
               "  --seed S          set seed; each split's seed is derived from it (default %llu)\n"
               "  --frames T        frames per clip (default %d)\n"
               "  --size S          frame width and height, even (default %d)\n"
               "  --fps F           frame rate of the files (default %g)\n"
               "  --noise X         uniform pixel noise, std over full scale (default %g)\n"
               "  --clutter K       distractor shapes per clip (default %d)\n"
               "  --hand-min X      hand length range, fraction of the frame (default %g)\n"
               "  --hand-max X        (default %g)\n"
               "  --travel-min X    motion extent range, fraction of the frame (default %g)\n"
               "  --travel-max X      (default %g)\n"
               "  --speed-min X     motion speed range, >= 1: the motion takes\n"
               "  --speed-max X       (frames - 1) / speed frames (default %g .. %g)\n"
               "  --jitter X        per-frame position noise, fraction of the frame (default %g)\n"
               "  --threads N       worker threads (default: all cores)\n",
               d.out.string().c_str(), o.classes, (long long)d.counts[0], (long long)d.counts[1],
               (long long)d.counts[2], (unsigned long long)d.seed, o.frames, o.size, o.fps, o.noise,
               o.clutter, o.hand_min, o.hand_max, o.travel_min, o.travel_max, o.speed_min,
               o.speed_max, o.jitter);
}

// The value of option `name` as an integer in [lo, hi].
int64_t parse_int(const std::string& name, const std::string& value, int64_t lo, int64_t hi) {
  char* end = nullptr;
  const long long v = std::strtoll(value.c_str(), &end, 10);
  SIGNET_CHECK(!value.empty() && *end == '\0' && v >= lo && v <= hi, "synth: ", name,
               " needs an integer in ", lo, "..", hi, ", got '", value, "'");
  return v;
}

// The value of option `name` as a finite number.
double parse_number(const std::string& name, const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  SIGNET_CHECK(!value.empty() && *end == '\0' && std::isfinite(v), "synth: ", name,
               " needs a number, got '", value, "'");
  return v;
}

// Applies one `--name value` pair; false when the name is unknown.
bool apply_option(SynthArgs& a, const std::string& name, const std::string& value) {
  media::SynthOptions& o = a.options;
  const int64_t big = int64_t(1) << 26;
  if (name == "--out")
    a.out = value;
  else if (name == "--classes")
    o.classes = int(parse_int(name, value, 1, media::kGestureClasses));
  else if (name == "--train")
    a.counts[0] = parse_int(name, value, 0, big - 1);
  else if (name == "--val")
    a.counts[1] = parse_int(name, value, 0, big - 1);
  else if (name == "--test")
    a.counts[2] = parse_int(name, value, 0, big - 1);
  else if (name == "--seed")
    a.seed = uint64_t(parse_int(name, value, 0, int64_t(1) << 62));
  else if (name == "--frames")
    o.frames = int(parse_int(name, value, 2, 4096));
  else if (name == "--size")
    o.size = int(parse_int(name, value, 16, 1024));
  else if (name == "--fps")
    o.fps = parse_number(name, value);
  else if (name == "--noise")
    o.noise = parse_number(name, value);
  else if (name == "--clutter")
    o.clutter = int(parse_int(name, value, 0, 1000));
  else if (name == "--hand-min")
    o.hand_min = parse_number(name, value);
  else if (name == "--hand-max")
    o.hand_max = parse_number(name, value);
  else if (name == "--travel-min")
    o.travel_min = parse_number(name, value);
  else if (name == "--travel-max")
    o.travel_max = parse_number(name, value);
  else if (name == "--speed-min")
    o.speed_min = parse_number(name, value);
  else if (name == "--speed-max")
    o.speed_max = parse_number(name, value);
  else if (name == "--jitter")
    o.jitter = parse_number(name, value);
  else if (name == "--threads")
    a.threads = int(parse_int(name, value, 1, 256));
  else
    return false;
  return true;
}

// Makes `out` ready: a folder holding an earlier synth set loses that set; any other
// non-empty folder is refused so that nothing else is ever deleted.
void prepare_output(const fs::path& out) {
  std::error_code ec;
  const fs::path manifest = out / "manifest.json";
  if (fs::exists(manifest)) {
    const std::vector<char> bytes = io::read_file_bytes(manifest.string());
    const io::Json old = io::parse_json(std::string(bytes.begin(), bytes.end()), manifest.string());
    const io::Json* generator = old.find("generator");
    SIGNET_CHECK(generator && generator->str == kGenerator, out.string(),
                 ": holds a manifest.json not written by signet synth; choose another --out");
    for (const char* split : kSplitNames) fs::remove_all(out / split, ec);
    fs::remove(manifest, ec);
  } else if (fs::exists(out)) {
    SIGNET_CHECK(
        fs::is_directory(out) && fs::is_empty(out), out.string(),
        ": exists and is not an empty folder or an earlier synth set; choose another --out");
  }
  fs::create_directories(out, ec);
  SIGNET_CHECK(!ec, out.string(), ": cannot create the folder: ", ec.message());
}

// The options as manifest members.
io::Json options_json(const media::SynthOptions& o) {
  io::Json j = io::Json::object();
  j.set("classes", io::Json::of(int64_t(o.classes)));
  j.set("frames", io::Json::of(int64_t(o.frames)));
  j.set("size", io::Json::of(int64_t(o.size)));
  j.set("fps", io::Json::of(o.fps));
  j.set("noise", io::Json::of(o.noise));
  j.set("clutter", io::Json::of(int64_t(o.clutter)));
  j.set("hand_min", io::Json::of(o.hand_min));
  j.set("hand_max", io::Json::of(o.hand_max));
  j.set("travel_min", io::Json::of(o.travel_min));
  j.set("travel_max", io::Json::of(o.travel_max));
  j.set("speed_min", io::Json::of(o.speed_min));
  j.set("speed_max", io::Json::of(o.speed_max));
  j.set("jitter", io::Json::of(o.jitter));
  return j;
}

// Generates the three splits and writes the manifest last, so its presence means complete.
int write_set(const SynthArgs& a) {
  const auto started = std::chrono::steady_clock::now();
  prepare_output(a.out);
  const int threads =
      a.threads > 0 ? a.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  io::Json seeds = io::Json::object(), splits = io::Json::object();
  std::string codec;
  for (int s = 0; s < 3; ++s) {
    const uint64_t seed = media::gesture_split_seed(a.seed, s);
    const int64_t count = a.counts[s];
    const int64_t step = std::max<int64_t>(1, count / 10);
    std::printf("%s: %lld clips (seed %llu)\n", kSplitNames[s], (long long)count,
                (unsigned long long)seed);
    std::fflush(stdout);
    const std::vector<media::GestureFile> files = media::write_gesture_split(
        a.out.string(), kSplitNames[s], a.options, seed, count, threads, [&](int64_t done) {
          if (done % step == 0 || done == count) {
            std::printf("  %s %lld/%lld\n", kSplitNames[s], (long long)done, (long long)count);
            std::fflush(stdout);
          }
        });
    if (codec.empty() && !files.empty())
      codec = media::probe_video((a.out / files.front().path).string()).codec;
    io::Json clips = io::Json::array();
    for (const media::GestureFile& f : files) {
      io::Json c = io::Json::object();
      c.set("path", io::Json::of(f.path));
      c.set("label", io::Json::of(f.label));
      c.set("class", io::Json::of(media::gesture_class_name(int(f.label))));
      c.set("shape", io::Json::of(media::hand_shape_name(f.shape)));
      clips.items.push_back(std::move(c));
    }
    seeds.set(kSplitNames[s], io::Json::of(int64_t(seed)));
    io::Json split = io::Json::object();
    split.set("count", io::Json::of(count));
    split.set("clips", std::move(clips));
    splits.set(kSplitNames[s], std::move(split));
  }

  io::Json classes = io::Json::array(), shapes = io::Json::array();
  for (int c = 0; c < a.options.classes; ++c)
    classes.items.push_back(io::Json::of(media::gesture_class_name(c)));
  for (int h = 0; h < media::kHandShapes; ++h)
    shapes.items.push_back(io::Json::of(media::hand_shape_name(h)));
  io::Json manifest = io::Json::object();
  manifest.set("generator", io::Json::of(kGenerator));
  manifest.set("layout", io::Json::of("<split>/<class>/<split>_<index>.mp4, RGB frames; label = "
                                      "index % classes, the position in `classes`"));
  manifest.set("codec", io::Json::of(codec));
  manifest.set("seed", io::Json::of(int64_t(a.seed)));
  manifest.set("split_seeds", std::move(seeds));
  manifest.set("rng", io::Json::of("clip i of a split: parameters from augment_stream(split seed, "
                                   "0, i), noise of frame t from augment_stream(split seed, 1 + "
                                   "t, i); split seed = SplitMix64(3 * seed + split) >> 1"));
  manifest.set("options", options_json(a.options));
  manifest.set("classes", std::move(classes));
  manifest.set("hand_shapes", std::move(shapes));
  manifest.set("splits", std::move(splits));
  const fs::path manifest_path = a.out / "manifest.json";
  const std::string text = io::dump_json(manifest, 2) + "\n";
  io::write_file_atomically(manifest_path.string(), [&](std::ostream& out) {
    out.write(text.data(), std::streamsize(text.size()));
  });

  uintmax_t bytes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(a.out))
    if (entry.is_regular_file()) bytes += entry.file_size();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("wrote %s: %lld train, %lld val, %lld test clips (%s), %.1f MB in %.1f s\n",
              a.out.string().c_str(), (long long)a.counts[0], (long long)a.counts[1],
              (long long)a.counts[2], codec.c_str(), double(bytes) / 1e6, seconds);
  return 0;
}

}  // namespace

// Parses the options and writes the set.
int run_synth(int argc, char** argv) {
  SynthArgs args;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--help" || name == "-h") {
      usage(stdout);
      return 0;
    }
    if (i + 1 >= argc || !apply_option(args, name, argv[i + 1])) {
      std::fprintf(stderr, "signet: synth: unknown or incomplete option '%s'\n", name.c_str());
      usage(stderr);
      return 2;
    }
    ++i;
  }
  media::check_synth_options(args.options);
  if (!media::video_support()) {
    std::fprintf(stderr,
                 "signet: synth: built without FFmpeg, so no video can be written (install "
                 "libavformat-dev libavcodec-dev libswscale-dev libavutil-dev and rebuild)\n");
    return 1;
  }
  return write_set(args);
}

}  // namespace signet::cli
