#include "tools/media/gesture_synth.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include "engine/error.h"
#include "engine/random.h"
#include "tools/media/video_writer.h"

namespace signet::media {
namespace {

constexpr const char* kClassNames[kGestureClasses] = {
    "swipe_left", "swipe_right", "swipe_up", "swipe_down", "circle_cw",
    "circle_ccw", "zoom_in",     "zoom_out", "wave",       "push"};
constexpr const char* kShapeNames[kHandShapes] = {"open", "fist", "point", "v"};
constexpr double kPi = 3.14159265358979323846;
// Radius around the palm centre that holds every shape at any rotation, in hand lengths.
constexpr double kHandReach = 0.72;

// One uniform draw in [lo, hi) (takes one counter).
double draw(RngStream& rng, double lo, double hi) {
  double v = 0.0;
  rng.uniform(&v, 1, lo, hi);
  return v;
}

// One normal draw with mean 0 (takes one counter).
double draw_normal(RngStream& rng, double stddev) {
  double v = 0.0;
  rng.normal(&v, 1, 0.0, stddev);
  return v;
}

// A rounded segment (a finger) in hand coordinates: unit = hand length, palm centre at the
// origin, fingers pointing to -y, thumb on the +x side.
struct Capsule {
  double ax, ay, bx, by, r;
};

// Signed distance from (x, y) to a capsule.
double capsule_distance(const Capsule& c, double x, double y) {
  const double px = x - c.ax, py = y - c.ay, dx = c.bx - c.ax, dy = c.by - c.ay;
  const double h = std::clamp((px * dx + py * dy) / (dx * dx + dy * dy), 0.0, 1.0);
  return std::hypot(px - h * dx, py - h * dy) - c.r;
}

// Approximate signed distance from (x, y) to an axis-aligned ellipse at the origin.
double ellipse_distance(double rx, double ry, double x, double y) {
  return (std::hypot(x / rx, y / ry) - 1.0) * std::min(rx, ry);
}

// Palm radii and the height where the fingers start, in hand lengths.
constexpr double kPalmRx = 0.22, kPalmRy = 0.25, kFingerBaseY = -0.18;

// A finger rooted at x on the palm's top, `length` long, tilted `angle` radians towards +x.
Capsule finger(double x, double length, double angle, double radius = 0.05) {
  return {x, kFingerBaseY, x + length * std::sin(angle), kFingerBaseY - length * std::cos(angle),
          radius};
}

// The fingers of a hand shape (0 open, 1 fist, 2 point, 3 v): extended or folded to knuckles.
std::vector<Capsule> hand_fingers(int shape) {
  const double xs[4] = {0.15, 0.05, -0.05, -0.15};  // index, middle, ring, little
  const double lengths[4] = {0.40, 0.45, 0.41, 0.32};
  const double spread[4] = {0.12, 0.0, -0.1, -0.22};
  const Capsule thumb_out{0.18, 0.05, 0.40, -0.15, 0.06};
  const Capsule thumb_folded{0.18, 0.05, -0.02, -0.06, 0.06};
  std::vector<Capsule> f;
  for (int i = 0; i < 4; ++i) {
    const bool extended = shape == 0 || (shape == 2 && i == 0) || (shape == 3 && i < 2);
    if (!extended) {
      f.push_back(finger(xs[i], 0.07, 0.0, 0.055));
    } else if (shape == 3) {
      f.push_back(finger(xs[i], lengths[i], i == 0 ? 0.3 : -0.2));
    } else {
      f.push_back(finger(xs[i], lengths[i], shape == 0 ? spread[i] : 0.0));
    }
  }
  f.push_back(shape == 0 ? thumb_out : thumb_folded);
  return f;
}

// A float RGB image, rows top to bottom.
struct Canvas {
  int size = 0;
  std::vector<float> rgb;

  // Blends colour into pixel (x, y) with weight a.
  void blend(int x, int y, const float* colour, double a) {
    float* p = rgb.data() + (size_t(y) * size + x) * 3;
    for (int c = 0; c < 3; ++c) p[c] += float(a) * (colour[c] - p[c]);
  }
};

// Pixel coverage of a shape edge at signed distance d pixels (a one-pixel ramp: antialiasing).
double coverage(double d) {
  return std::clamp(0.5 - d, 0.0, 1.0);
}

// A static distractor: an ellipse or a rectangle in one colour.
struct ClutterShape {
  bool ellipse;
  double cx, cy, rx, ry;
  float colour[3];
};

// Draws a clutter shape onto the canvas.
void draw_clutter(Canvas& canvas, const ClutterShape& s) {
  const int x0 = std::max(0, int(s.cx - s.rx - 1)),
            x1 = std::min(canvas.size, int(s.cx + s.rx + 2));
  const int y0 = std::max(0, int(s.cy - s.ry - 1)),
            y1 = std::min(canvas.size, int(s.cy + s.ry + 2));
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) {
      const double dx = x + 0.5 - s.cx, dy = y + 0.5 - s.cy;
      const double d = s.ellipse ? ellipse_distance(s.rx, s.ry, dx, dy)
                                 : std::max(std::abs(dx) - s.rx, std::abs(dy) - s.ry);
      const double a = coverage(d);
      if (a > 0.0) canvas.blend(x, y, s.colour, a);
    }
  }
}

// Where the hand is in one frame: palm centre (pixels), pixels per hand length, rotation.
struct HandPose {
  double cx, cy, scale, angle;
};

// Draws the hand: palm, then fingers over it; `mirror` = -1 puts the thumb on the left.
void draw_hand(Canvas& canvas, const HandPose& pose, const std::vector<Capsule>& fingers,
               double mirror, const float* palm_rgb, const float* finger_rgb) {
  const double reach = kHandReach * pose.scale + 2.0;
  const int x0 = std::max(0, int(pose.cx - reach)),
            x1 = std::min(canvas.size, int(pose.cx + reach) + 1);
  const int y0 = std::max(0, int(pose.cy - reach)),
            y1 = std::min(canvas.size, int(pose.cy + reach) + 1);
  const double c = std::cos(pose.angle), s = std::sin(pose.angle);
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) {
      const double dx = x + 0.5 - pose.cx, dy = y + 0.5 - pose.cy;
      const double lx = mirror * (c * dx + s * dy) / pose.scale;
      const double ly = (-s * dx + c * dy) / pose.scale;
      const double palm = coverage(ellipse_distance(kPalmRx, kPalmRy, lx, ly) * pose.scale);
      if (palm > 0.0) canvas.blend(x, y, palm_rgb, palm);
      double nearest = 1e9;
      for (const Capsule& f : fingers) nearest = std::min(nearest, capsule_distance(f, lx, ly));
      const double a = coverage(nearest * pose.scale);
      if (a > 0.0) canvas.blend(x, y, finger_rgb, a);
    }
  }
}

// Smooth 0 -> 1 ramp with zero speed at both ends.
double smoothstep(double u) {
  u = std::clamp(u, 0.0, 1.0);
  return u * u * (3.0 - 2.0 * u);
}

// The pose of class `label` at motion progress p in 0..1, relative to where the motion starts:
// offset in pixels, scale multiplier, tilt. `travel` is in pixels, `zoom` the scale factor of
// the zooms and the push, `phase` the circle's starting angle.
HandPose motion_pose(int label, double p, double travel, double zoom, double phase) {
  switch (label) {
    case 0:
      return {-travel * p, 0.0, 1.0, 0.0};  // swipe left
    case 1:
      return {travel * p, 0.0, 1.0, 0.0};  // swipe right
    case 2:
      return {0.0, -travel * p, 1.0, 0.0};  // swipe up (image y grows downwards)
    case 3:
      return {0.0, travel * p, 1.0, 0.0};  // swipe down
    case 4:                                // circle clockwise on screen (y down)
    case 5: {                              // circle counter-clockwise
      const double a = phase + (label == 4 ? 2.0 : -2.0) * kPi * p;
      const double r = travel / 2.0;
      return {r * (std::cos(a) - std::cos(phase)), r * (std::sin(a) - std::sin(phase)), 1.0, 0.0};
    }
    case 6:
      return {0.0, 0.0, std::pow(zoom, p - 0.5), 0.0};  // zoom in: grows
    case 7:
      return {0.0, 0.0, std::pow(zoom, 0.5 - p), 0.0};  // zoom out: shrinks
    case 8: {  // wave: two side-to-side swings with the hand tilting
      const double w = std::sin(4.0 * kPi * p);
      return {travel / 2.0 * w, 0.0, 1.0, 0.35 * w};
    }
    default:
      return {0.0, 0.0, std::pow(zoom, std::sin(kPi * p) - 0.5), 0.0};  // push: out, back
  }
}

// Uniform position in [lo, hi] when the span fits, else the centre of the frame range.
double place(RngStream& rng, double lo, double hi) {
  return lo <= hi ? draw(rng, lo, hi) : 0.5 * (lo + hi);
}

}  // namespace

// Looks the class name up.
const char* gesture_class_name(int label) {
  SIGNET_CHECK(label >= 0 && label < kGestureClasses, "gesture class ", label, " is outside 0..",
               kGestureClasses - 1);
  return kClassNames[label];
}

// Looks the shape name up.
const char* hand_shape_name(int shape) {
  SIGNET_CHECK(shape >= 0 && shape < kHandShapes, "hand shape ", shape, " is outside 0..",
               kHandShapes - 1);
  return kShapeNames[shape];
}

// Range checks with the option's name in the message.
void check_synth_options(const SynthOptions& o) {
  SIGNET_CHECK(o.classes >= 1 && o.classes <= kGestureClasses, "synth: classes ", o.classes,
               " is outside 1..", kGestureClasses);
  SIGNET_CHECK(o.frames >= 2 && o.frames <= 4096, "synth: frames ", o.frames,
               " is outside 2..4096");
  SIGNET_CHECK(o.size >= 16 && o.size <= 1024 && o.size % 2 == 0, "synth: size ", o.size,
               " must be even and in 16..1024");
  SIGNET_CHECK(o.fps > 0.0, "synth: fps ", o.fps, " is not positive");
  SIGNET_CHECK(o.noise >= 0.0 && o.noise <= 1.0, "synth: noise ", o.noise, " is outside 0..1");
  SIGNET_CHECK(o.clutter >= 0 && o.clutter <= 1000, "synth: clutter ", o.clutter,
               " is outside 0..1000");
  SIGNET_CHECK(o.hand_min > 0.0 && o.hand_min <= o.hand_max && o.hand_max <= 1.0,
               "synth: hand size range [", o.hand_min, ", ", o.hand_max,
               "] must satisfy 0 < min <= max <= 1");
  SIGNET_CHECK(o.travel_min >= 0.0 && o.travel_min <= o.travel_max && o.travel_max <= 1.0,
               "synth: travel range [", o.travel_min, ", ", o.travel_max,
               "] must satisfy 0 <= min <= max <= 1");
  SIGNET_CHECK(o.speed_min >= 1.0 && o.speed_min <= o.speed_max, "synth: speed range [",
               o.speed_min, ", ", o.speed_max, "] must satisfy 1 <= min <= max");
  SIGNET_CHECK(o.jitter >= 0.0 && o.jitter <= 0.2, "synth: jitter ", o.jitter,
               " is outside 0..0.2");
}

// Draws the clip's parameters in a fixed order, fits the path into the frame, then renders
// background, clutter, hand and noise frame by frame.
GestureClip generate_gesture_clip(const SynthOptions& o, uint64_t seed, int64_t index) {
  check_synth_options(o);
  SIGNET_CHECK(index >= 0, "synth: clip index ", index, " is negative");
  RngStream rng = augment_stream(seed, 0, uint64_t(index));
  GestureClip clip;
  clip.label = index % o.classes;
  const int label = int(clip.label);
  const double n = o.size;

  clip.shape = int(rng.uniform_int(kHandShapes));
  const double mirror = draw(rng, 0.0, 1.0) < 0.5 ? 1.0 : -1.0;
  float palm[3], fingers_rgb[3];
  palm[0] = float(draw(rng, 140.0, 250.0));
  palm[1] = palm[0] * float(draw(rng, 0.62, 0.82));
  palm[2] = palm[1] * float(draw(rng, 0.62, 0.9));
  for (int c = 0; c < 3; ++c) {
    clip.hand_rgb[c] = uint8_t(std::lround(palm[c]));
    palm[c] = clip.hand_rgb[c];
    fingers_rgb[c] = 0.92f * palm[c];
  }
  // Background: a grey at least 80 levels of luminance from the hand, tinted, with a gradient.
  const double hand_luma = 0.299 * palm[0] + 0.587 * palm[1] + 0.114 * palm[2];
  const double dark = std::max(0.0, hand_luma - 90.0), light = std::max(0.0, 165.0 - hand_luma);
  const double pick = draw(rng, 0.0, dark + light);
  const double grey = pick < dark ? 10.0 + pick : hand_luma + 80.0 + (pick - dark);
  float background[3];
  for (float& b : background) b = float(std::clamp(grey + draw(rng, -15.0, 15.0), 0.0, 255.0));
  const double gradient_angle = draw(rng, 0.0, 2.0 * kPi), gradient = draw(rng, 0.0, 15.0);
  Canvas base{o.size, std::vector<float>(size_t(o.size) * o.size * 3)};
  for (int y = 0; y < o.size; ++y) {
    for (int x = 0; x < o.size; ++x) {
      const double g = gradient * ((x + 0.5) / n - 0.5) * 2.0 * std::cos(gradient_angle) +
                       gradient * ((y + 0.5) / n - 0.5) * 2.0 * std::sin(gradient_angle);
      for (int c = 0; c < 3; ++c)
        base.rgb[(size_t(y) * o.size + x) * 3 + c] =
            std::clamp(background[c] + float(g), 0.0f, 255.0f);
    }
  }
  for (int k = 0; k < o.clutter; ++k) {
    ClutterShape s;
    s.ellipse = draw(rng, 0.0, 1.0) < 0.5;
    s.cx = draw(rng, 0.0, n);
    s.cy = draw(rng, 0.0, n);
    s.rx = draw(rng, 0.04, 0.14) * n;
    s.ry = draw(rng, 0.04, 0.14) * n;
    for (float& c : s.colour) c = float(draw(rng, 0.0, 255.0));
    draw_clutter(base, s);
  }

  // Motion: size, travel, timing, phase, base rotation, per-frame jitter.
  const double scale = draw(rng, o.hand_min, o.hand_max) * n;
  const double travel_fraction = draw(rng, o.travel_min, o.travel_max);
  const double travel = travel_fraction * n, zoom = 1.0 + 2.0 * travel_fraction;
  const double speed = draw(rng, o.speed_min, o.speed_max);
  const int span = std::max(1, int(std::lround((o.frames - 1) / speed)));
  const int t0 = int(rng.uniform_int(uint64_t(o.frames - span)));
  const double phase = draw(rng, 0.0, 2.0 * kPi), angle = draw(rng, -0.35, 0.35);
  std::vector<HandPose> poses(size_t(o.frames));
  double x_lo = 1e9, x_hi = -1e9, y_lo = 1e9, y_hi = -1e9;
  for (int t = 0; t < o.frames; ++t) {
    const HandPose m = motion_pose(label, smoothstep(double(t - t0) / span), travel, zoom, phase);
    HandPose& pose = poses[size_t(t)];
    pose.cx = m.cx + draw_normal(rng, o.jitter * n);
    pose.cy = m.cy + draw_normal(rng, o.jitter * n);
    pose.scale = scale * m.scale;
    pose.angle = angle + m.angle + draw_normal(rng, 0.03);
    const double reach = kHandReach * pose.scale;
    x_lo = std::min(x_lo, pose.cx - reach);
    x_hi = std::max(x_hi, pose.cx + reach);
    y_lo = std::min(y_lo, pose.cy - reach);
    y_hi = std::max(y_hi, pose.cy + reach);
  }
  const double ox = place(rng, -x_lo, n - x_hi), oy = place(rng, -y_lo, n - y_hi);

  const size_t frame_values = size_t(o.size) * o.size * 3;
  clip.frames.resize(frame_values * size_t(o.frames));
  const std::vector<Capsule> fingers = hand_fingers(clip.shape);
  std::vector<float> noise(o.noise > 0.0 ? frame_values : size_t(0));
  for (int t = 0; t < o.frames; ++t) {
    Canvas frame = base;
    HandPose pose = poses[size_t(t)];
    pose.cx += ox;
    pose.cy += oy;
    draw_hand(frame, pose, fingers, mirror, palm, fingers_rgb);
    if (!noise.empty()) {
      RngStream noise_rng = augment_stream(seed, 1 + uint64_t(t), uint64_t(index));
      const float half_width = float(std::sqrt(3.0) * o.noise * 255.0);  // uniform: sd = w / sqrt 3
      noise_rng.uniform(noise.data(), int64_t(noise.size()), -half_width, half_width);
    }
    uint8_t* out = clip.frames.data() + frame_values * size_t(t);
    for (size_t i = 0; i < frame_values; ++i) {
      const float v = frame.rgb[i] + (noise.empty() ? 0.0f : noise[i]);
      out[i] = uint8_t(std::clamp(v, 0.0f, 255.0f) + 0.5f);  // round half up
    }
  }
  return clip;
}

// SplitMix64 finaliser of 3 * seed + split, top 63 bits.
uint64_t gesture_split_seed(uint64_t seed, int split) {
  SIGNET_CHECK(split >= 0 && split <= 2, "synth: split ", split, " is not 0, 1 or 2");
  uint64_t z = seed * 3 + uint64_t(split) + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (z ^ (z >> 31)) >> 1;
}

// Workers take clip indices from a shared counter; the first error stops them and is rethrown.
std::vector<GestureFile> write_gesture_split(const std::string& dir, const std::string& split_name,
                                             const SynthOptions& options, uint64_t seed,
                                             int64_t count, int threads,
                                             const std::function<void(int64_t)>& progress) {
  check_synth_options(options);
  SIGNET_CHECK(count >= 0, "synth: ", split_name, " count ", count, " is negative");
  SIGNET_CHECK(count < (int64_t(1) << 26), "synth: ", split_name, " count ", count,
               " is more than 2^26 clips");
  namespace fs = std::filesystem;
  std::vector<GestureFile> files(static_cast<size_t>(count));
  for (int c = 0; c < options.classes && c < count; ++c) {
    const fs::path folder = fs::path(dir) / split_name / kClassNames[c];
    std::error_code ec;
    fs::create_directories(folder, ec);
    SIGNET_CHECK(!ec, folder.string(), ": cannot create the folder: ", ec.message());
  }
  VideoWriterOptions video;
  video.fps = options.fps;
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::exception_ptr error;
  int64_t done = 0;
  // Generates and encodes clips until none are left or a worker failed.
  auto work = [&]() {
    for (int64_t i = next++; i < count && !failed; i = next++) {
      try {
        const GestureClip clip = generate_gesture_clip(options, seed, i);
        char name[64];
        std::snprintf(name, sizeof name, "%s_%05lld.mp4", split_name.c_str(), (long long)i);
        const std::string rel = split_name + "/" + kClassNames[clip.label] + "/" + name;
        write_video((fs::path(dir) / rel).string(), clip.frames.data(), options.frames,
                    options.size, options.size, video);
        std::lock_guard<std::mutex> lock(mutex);
        files[size_t(i)] = {rel, clip.label, clip.shape};
        if (progress) progress(++done);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < std::max(1, threads); ++w) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return files;
}

}  // namespace signet::media
