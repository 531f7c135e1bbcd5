// Augmentation and normalisation transforms on float images (C, H, W) and clips
// (T, C, H, W), f32 CPU tensors. Each random transform draws all its choices from the
// RngStream given to apply() (the loader's augment_stream(seed, epoch, sample)), so a
// sample's augmentation depends only on (seed, epoch, sample); a clip's frames all get the
// same spatial and photometric choice. The deterministic functions below do the work and
// are what the tests check by hand.
//
// Pixel coordinates: x along W, y along H (down), pixel centres at integers; bilinear
// sampling as PyTorch's align_corners=False for resizing.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/data/dataset.h"

namespace signet::data {

// The window rows [top, top + height) x columns [left, left + width) of every frame, resized
// back to the frame's H x W bilinearly (pixel centres aligned, edges clamped).
Tensor crop_resize(const Tensor& input, int64_t top, int64_t left, int64_t height, int64_t width);

// Every frame mirrored along W.
Tensor flip_horizontal(const Tensor& input);

// What an affine warp puts where a source pixel falls outside the frame.
enum class AffineFill { zero, edge };
// One warp about the frame's centre: rotation by `degrees` (counter-clockwise on screen),
// scaling by `zoom` (> 1 enlarges), then a shift by (dx, dy) pixels (right, down).
struct AffineParams {
  double degrees = 0.0;
  double zoom = 1.0;
  double dx = 0.0;
  double dy = 0.0;
};
// Each output pixel is the bilinear sample of the frame at the inverse-mapped position.
Tensor affine_warp(const Tensor& input, const AffineParams& params, AffineFill fill);

// x * brightness, then (x - m) * contrast + m with m the frame's mean, clamped to [0, 1].
Tensor adjust_brightness_contrast(const Tensor& input, double brightness, double contrast);

// `frames` indices start + floor(k * length / frames), k = 0 .. frames-1: the segment
// [start, start + length) resampled to `frames` (length > frames speeds up, < slows down).
std::vector<int64_t> temporal_indices(int64_t start, int64_t length, int64_t frames);
// The frames of a clip (T, C, H, W) at `indices`, as a new (indices.size(), C, H, W) clip.
Tensor take_time(const Tensor& clip, const std::vector<int64_t>& indices);

// (x - mean[c]) / std[c] on channel c (dimension -3); one value applies to every channel.
Tensor normalize(const Tensor& input, const std::vector<float>& mean,
                 const std::vector<float>& std);

// A crop of side fraction s ~ U[min_side, 1] (aspect kept) at a uniformly drawn position,
// resized back to the frame size.
class RandomCropResize : public Transform {
 public:
  explicit RandomCropResize(double min_side = 0.8);
  Tensor apply(const Tensor& input, RngStream& rng) const override;

 private:
  double min_side_;
};

// Mirrors the frames with probability p. Not in the default set: in sign language a flip
// turns a right-handed sign into a left-handed one, which can change its meaning.
class RandomHorizontalFlip : public Transform {
 public:
  explicit RandomHorizontalFlip(double p = 0.5);
  Tensor apply(const Tensor& input, RngStream& rng) const override;

 private:
  double p_;
};

// Small rotation, zoom and translation as one affine warp: degrees ~ U[-max_degrees,
// max_degrees], zoom ~ U[1 - max_zoom, 1 + max_zoom], dx, dy ~ U[-max_shift, max_shift] times
// W and H.
class RandomAffine : public Transform {
 public:
  RandomAffine(double max_degrees = 10.0, double max_zoom = 0.1, double max_shift = 0.1,
               AffineFill fill = AffineFill::zero);
  Tensor apply(const Tensor& input, RngStream& rng) const override;

 private:
  double max_degrees_, max_zoom_, max_shift_;
  AffineFill fill_;
};

// Brightness factor ~ U[1 - brightness, 1 + brightness], contrast factor ~ U[1 - contrast,
// 1 + contrast], applied by adjust_brightness_contrast.
class ColorJitter : public Transform {
 public:
  explicit ColorJitter(double brightness = 0.2, double contrast = 0.2);
  Tensor apply(const Tensor& input, RngStream& rng) const override;

 private:
  double brightness_, contrast_;
};

// Temporal jitter of a clip (T, C, H, W) to `frames` frames: speed s ~ U[min_speed,
// max_speed], a contiguous segment of length round(frames * s) (within 1 .. T) at a
// uniformly drawn start, resampled by temporal_indices. Speed 1 is a plain random segment.
class TemporalJitter : public Transform {
 public:
  explicit TemporalJitter(int64_t frames, double min_speed = 0.8, double max_speed = 1.25);
  Tensor apply(const Tensor& input, RngStream& rng) const override;

 private:
  int64_t frames_;
  double min_speed_, max_speed_;
};

// Per-channel normalisation (no randomness).
class Normalize : public Transform {
 public:
  Normalize(std::vector<float> mean, std::vector<float> std);
  Tensor apply(const Tensor& input, RngStream& rng) const override;

 private:
  std::vector<float> mean_, std_;
};

// The transforms in order, each drawing from the same stream after the previous one.
class Compose : public Transform {
 public:
  explicit Compose(std::vector<std::shared_ptr<const Transform>> transforms);
  Tensor apply(const Tensor& input, RngStream& rng) const override;

 private:
  std::vector<std::shared_ptr<const Transform>> transforms_;
};

// The training augmentation named by a comma-separated list (a command line's --augment),
// applied in a fixed order whatever the list's: "time" TemporalJitter(frames), "crop"
// RandomCropResize, "rotate" (or "affine": rotation, zoom and shift) RandomAffine, "color"
// ColorJitter, "flip" RandomHorizontalFlip, each with its default settings. "" or "none"
// gives nullptr; an unknown name throws signet::Error listing the known ones. Spaces around the
// names are ignored ("crop, time").
std::shared_ptr<const Transform> make_augmentation(const std::string& names, int64_t frames);

// The canonical names of a comma-separated augmentation list ("affine" read as "rotate"; "none"
// and empty items dropped; spaces around names ignored), each checked as make_augmentation does.
std::vector<std::string> augmentation_names(const std::string& names);

}  // namespace signet::data
