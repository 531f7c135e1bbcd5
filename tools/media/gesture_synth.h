// The built-in synthetic gesture set: a drawn hand (palm and fingers, in one of four shapes)
// moving in one of ten class motions over a cluttered, noisy background. The shape is drawn
// independently of the class, so only the motion tells the classes apart.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace signet::media {

// Number of motions; a set with `classes` < 10 uses the first `classes` of them.
constexpr int kGestureClasses = 10;
// Number of hand shapes.
constexpr int kHandShapes = 4;

// The motion of class `label` (0-based): swipe_left, swipe_right, swipe_up, swipe_down,
// circle_cw, circle_ccw, zoom_in, zoom_out, wave, push.
const char* gesture_class_name(int label);
// The hand shape `shape`: open, fist, point, v.
const char* hand_shape_name(int shape);

// How clips are drawn. Lengths are fractions of the frame side unless said otherwise.
struct SynthOptions {
  int classes = 10;          // motions used (labels 0 .. classes-1)
  int frames = 16;           // frames per clip
  int size = 64;             // frame width and height in pixels (even)
  double fps = 15.0;         // frame rate written into the video files
  double noise = 0.03;       // per-pixel uniform noise, standard deviation over full scale
  int clutter = 3;           // static distractor shapes behind the hand
  double hand_min = 0.28;    // hand length (wrist to finger tips), drawn per clip in
  double hand_max = 0.38;    //   [hand_min, hand_max]
  double travel_min = 0.3;   // swipe distance, circle diameter, wave width, in
  double travel_max = 0.45;  //   [travel_min, travel_max]; zoom factor 1 + 2 * travel
  double speed_min = 1.0;    // the motion takes (frames - 1) / speed frames, speed in
  double speed_max = 1.6;    //   [speed_min, speed_max] (>= 1), starting at a random frame
  double jitter = 0.01;      // per-frame position noise, standard deviation
};

// Checks the options; throws signet::Error naming the bad one.
void check_synth_options(const SynthOptions& options);

// One generated clip before encoding.
struct GestureClip {
  int64_t label = 0;
  int shape = 0;
  std::vector<uint8_t> frames;      // frames * size * size * 3 bytes, RGB, rows top to bottom
  uint8_t hand_rgb[3] = {0, 0, 0};  // the palm colour (fingers are 8% darker)
};

// Draws clip `index` of the split generated from `seed`: its class is index % classes, its
// parameters come from augment_stream(seed, 0, index) and the pixel noise of frame t from
// augment_stream(seed, 1 + t, index), so a clip depends only on (options, seed, index).
GestureClip generate_gesture_clip(const SynthOptions& options, uint64_t seed, int64_t index);

// The seed of split `split` (0 train, 1 validation, 2 test) of a set made with `seed`: a
// SplitMix64 hash of 3 * seed + split, so the splits of nearby seeds never coincide; 63 bits,
// so it fits a JSON integer.
uint64_t gesture_split_seed(uint64_t seed, int split);

// One written clip: its file relative to the set's folder, its class and hand shape.
struct GestureFile {
  std::string path;
  int64_t label = 0;
  int shape = 0;
};

// Generates clips 0 .. count-1 of one split and writes each as
// dir/<split_name>/<class name>/<split_name>_<index>.mp4 with `threads` workers (the files do
// not depend on the thread count). progress(done) is called, one call at a time, after each
// clip. Returns the clips in index order.
std::vector<GestureFile> write_gesture_split(const std::string& dir, const std::string& split_name,
                                             const SynthOptions& options, uint64_t seed,
                                             int64_t count, int threads,
                                             const std::function<void(int64_t)>& progress = {});

}  // namespace signet::media
