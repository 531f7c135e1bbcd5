// Decodes video files through FFmpeg (any container and codec it knows) into u8 frames, and
// samples a decoded clip to a fixed number of frames.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"

namespace signet::media {

// What a container says about its video stream, without decoding it.
struct VideoInfo {
  int width = 0;
  int height = 0;
  int64_t frames = 0;  // the container's frame count (0 when it does not record one)
  double fps = 0.0;    // average frame rate (0 when unknown)
  std::string codec;
  std::string container;
};

// Opens the file and reads its stream headers; throws signet::Error naming the file.
VideoInfo probe_video(const std::string& path);

// Pixel layout of decoded frames.
enum class ColorMode { rgb, gray };

// Which frames to decode and how to convert them.
struct VideoReadOptions {
  // WLASL's frame_start/frame_end: 1-based and inclusive, frame_end = -1 reads to the end. An
  // end past the last frame stops at the last frame; a start past it is an error.
  int64_t frame_start = 1;
  int64_t frame_end = -1;
  ColorMode color = ColorMode::rgb;
  // Output size; 0 keeps the source size (one of them 0: scaled to keep the aspect ratio).
  int width = 0;
  int height = 0;
};

// Decodes frames [frame_start, frame_end] into a u8 tensor (T, H, W, C), C = 3 (RGB) or 1.
// Seeks to the key frame before frame_start when the stream has a frame rate. Throws
// signet::Error naming the file and the reason: cannot open (zero-byte, truncated, not a
// video), no video stream, corrupt data, no frames in the range.
Tensor read_video(const std::string& path, const VideoReadOptions& options = {});

// How sample_frame_indices chooses `frames` frames from a clip of `available`.
enum class FrameSampling {
  uniform,         // spread evenly over the clip, first and last included
  random_segment,  // a contiguous run starting at a random frame (training)
};
// How a clip shorter than the requested length is filled.
enum class ShortClipPadding {
  loop_reverse,  // the clip, then the clip reversed, then forward again, ...
  repeat_last,   // the clip, then its last frame repeated
  stretch,       // frames spread evenly over the length, some repeated
  zeros,         // the clip, then zero frames (index -1); the real length goes with the clip
};

// Names as used on command lines and in manifests ("uniform", "loop_reverse", ...).
const char* frame_sampling_name(FrameSampling rule);
const char* short_clip_padding_name(ShortClipPadding pad);
// Parses a name; throws signet::Error listing the known names.
FrameSampling parse_frame_sampling(const std::string& name);
ShortClipPadding parse_short_clip_padding(const std::string& name);

// Exactly `frames` indices into 0 .. available-1. A clip at least `frames` long is sampled
// by `rule` (random_segment draws its start from rng: one counter); a shorter one is the
// whole clip padded by `pad` for either rule (zeros pads with -1: a zero frame).
std::vector<int64_t> sample_frame_indices(int64_t available, int64_t frames, FrameSampling rule,
                                          ShortClipPadding pad, RngStream* rng = nullptr);

// The number of real (not zero-padding) frames among the `frames` that sample_frame_indices
// picks from a clip of `available`: min(available, frames) under zeros padding, else -1 (all
// frames real), as data::Sample::length takes it.
int64_t sampled_length(int64_t available, int64_t frames, ShortClipPadding pad);

// The frames of a (T, ...) tensor at `indices`, as a new contiguous (indices.size(), ...) tensor;
// index -1 gives a zero frame.
Tensor take_frames(const Tensor& clip, const std::vector<int64_t>& indices);

}  // namespace signet::media
