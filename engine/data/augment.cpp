#include "engine/data/augment.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "engine/error.h"

namespace signet::data {

namespace {

constexpr double kPi = 3.14159265358979323846;

// An image or clip seen as n frames of c planes of h x w floats, contiguous.
struct Frames {
  Tensor t;
  int64_t n = 1, c = 0, h = 0, w = 0;
  const float* data() const { return t.data<float>(); }
};

// Checks that input is an f32 CPU image (C, H, W) or clip (T, C, H, W) and views its frames.
Frames frames_of(const Tensor& input, const char* op) {
  SIGNET_CHECK(input.defined() && (input.dim() == 3 || input.dim() == 4) &&
                   input.dtype() == DType::f32 && input.device().is_cpu() && input.numel() > 0,
               op, ": expects a non-empty f32 CPU image (C, H, W) or clip (T, C, H, W), got ",
               input.defined() ? shape_str(input.shape()) : "an undefined tensor", " ",
               input.defined() ? dtype_name(input.dtype()) : "");
  Frames f;
  f.t = input.contiguous();
  const int64_t d = input.dim();
  f.n = d == 4 ? input.size(0) : 1;
  f.c = input.size(d - 3);
  f.h = input.size(d - 2);
  f.w = input.size(d - 1);
  return f;
}

// Bilinear sample of an h x w plane at (y, x): taps outside the plane read 0 (zero fill),
// or the position is clamped into the plane first (edge fill).
float bilinear(const float* plane, int64_t h, int64_t w, double y, double x, AffineFill fill) {
  if (fill == AffineFill::edge) {
    y = std::clamp(y, 0.0, double(h - 1));
    x = std::clamp(x, 0.0, double(w - 1));
  }
  const double fy = std::floor(y), fx = std::floor(x);
  const int64_t y0 = int64_t(fy), x0 = int64_t(fx);
  const double ay = y - fy, ax = x - fx;
  auto at = [&](int64_t yy, int64_t xx) -> double {
    return yy < 0 || yy >= h || xx < 0 || xx >= w ? 0.0 : double(plane[yy * w + xx]);
  };
  // A tap with weight 0 is skipped, so an integer position returns the pixel exactly.
  auto row = [&](int64_t yy) {
    return ax == 0.0 ? at(yy, x0) : (1.0 - ax) * at(yy, x0) + ax * at(yy, x0 + 1);
  };
  return float(ay == 0.0 ? row(y0) : (1.0 - ay) * row(y0) + ay * row(y0 + 1));
}

// Source coordinate of output i along an axis of `out` pixels reading `in` (align_corners
// False), clamped into [0, in - 1].
double resize_source(int64_t i, int64_t in, int64_t out) {
  return std::clamp((double(i) + 0.5) * double(in) / double(out) - 0.5, 0.0, double(in - 1));
}

}  // namespace

Tensor crop_resize(const Tensor& input, int64_t top, int64_t left, int64_t height, int64_t width) {
  const Frames f = frames_of(input, "crop_resize");
  SIGNET_CHECK(height >= 1 && width >= 1 && top >= 0 && left >= 0 && top + height <= f.h &&
                   left + width <= f.w,
               "crop_resize: window top ", top, " left ", left, " height ", height, " width ",
               width, " is not inside the ", f.h, " x ", f.w, " frames of ",
               shape_str(input.shape()));
  Tensor out = empty(input.shape(), DType::f32);
  float* o = out.data<float>();
  for (int64_t p = 0; p < f.n * f.c; ++p) {
    const float* plane = f.data() + p * f.h * f.w;
    for (int64_t y = 0; y < f.h; ++y) {
      const double sy = double(top) + resize_source(y, height, f.h);
      for (int64_t x = 0; x < f.w; ++x)
        *o++ = bilinear(plane, f.h, f.w, sy, double(left) + resize_source(x, width, f.w),
                        AffineFill::edge);
    }
  }
  return out;
}

Tensor flip_horizontal(const Tensor& input) {
  const Frames f = frames_of(input, "flip_horizontal");
  Tensor out = empty(input.shape(), DType::f32);
  float* o = out.data<float>();
  for (int64_t r = 0; r < f.n * f.c * f.h; ++r) {
    const float* row = f.data() + r * f.w;
    for (int64_t x = 0; x < f.w; ++x) *o++ = row[f.w - 1 - x];
  }
  return out;
}

// Output (x, y) reads the source at c + R(-angle) ((x, y) - c - d) / zoom, c the centre.
Tensor affine_warp(const Tensor& input, const AffineParams& params, AffineFill fill) {
  const Frames f = frames_of(input, "affine_warp");
  SIGNET_CHECK(params.zoom > 0.0 && std::isfinite(params.zoom) && std::isfinite(params.degrees) &&
                   std::isfinite(params.dx) && std::isfinite(params.dy),
               "affine_warp: zoom must be positive and every parameter finite, got degrees ",
               params.degrees, " zoom ", params.zoom, " dx ", params.dx, " dy ", params.dy);
  const double angle = params.degrees * kPi / 180.0;
  const double ca = std::cos(angle) / params.zoom, sa = std::sin(angle) / params.zoom;
  const double cx = double(f.w - 1) / 2.0, cy = double(f.h - 1) / 2.0;
  Tensor out = empty(input.shape(), DType::f32);
  float* o = out.data<float>();
  for (int64_t p = 0; p < f.n * f.c; ++p) {
    const float* plane = f.data() + p * f.h * f.w;
    for (int64_t y = 0; y < f.h; ++y) {
      const double v = double(y) - cy - params.dy;
      for (int64_t x = 0; x < f.w; ++x) {
        const double u = double(x) - cx - params.dx;
        *o++ = bilinear(plane, f.h, f.w, cy + sa * u + ca * v, cx + ca * u - sa * v, fill);
      }
    }
  }
  return out;
}

Tensor adjust_brightness_contrast(const Tensor& input, double brightness, double contrast) {
  const Frames f = frames_of(input, "adjust_brightness_contrast");
  SIGNET_CHECK(brightness >= 0.0 && contrast >= 0.0, "adjust_brightness_contrast: brightness ",
               brightness, " and contrast ", contrast, " must be >= 0");
  Tensor out = empty(input.shape(), DType::f32);
  const int64_t per_frame = f.c * f.h * f.w;
  for (int64_t n = 0; n < f.n; ++n) {
    const float* in = f.data() + n * per_frame;
    float* o = out.data<float>() + n * per_frame;
    double sum = 0.0;
    for (int64_t i = 0; i < per_frame; ++i) sum += double(in[i]) * brightness;
    const double mean = sum / double(per_frame);
    for (int64_t i = 0; i < per_frame; ++i)
      o[i] = float(std::clamp((double(in[i]) * brightness - mean) * contrast + mean, 0.0, 1.0));
  }
  return out;
}

std::vector<int64_t> temporal_indices(int64_t start, int64_t length, int64_t frames) {
  SIGNET_CHECK(start >= 0 && length >= 1 && frames >= 1, "temporal_indices: start ", start,
               ", length ", length, ", frames ", frames, " (need start >= 0, length, frames >= 1)");
  std::vector<int64_t> idx(size_t(frames), 0);
  for (int64_t k = 0; k < frames; ++k) idx[size_t(k)] = start + k * length / frames;
  return idx;
}

Tensor take_time(const Tensor& clip, const std::vector<int64_t>& indices) {
  const Frames f = frames_of(clip, "take_time");
  SIGNET_CHECK(clip.dim() == 4 && !indices.empty(), "take_time: expects a clip (T, C, H, W) and ",
               "at least one index, got ", shape_str(clip.shape()), " and ", indices.size(),
               " indices");
  const int64_t per_frame = f.c * f.h * f.w;
  Tensor out = empty({int64_t(indices.size()), f.c, f.h, f.w}, DType::f32);
  for (size_t k = 0; k < indices.size(); ++k) {
    SIGNET_CHECK(indices[k] >= 0 && indices[k] < f.n, "take_time: frame index ", indices[k],
                 " is outside the clip of ", f.n, " frames");
    std::copy_n(f.data() + indices[k] * per_frame, per_frame,
                out.data<float>() + int64_t(k) * per_frame);
  }
  return out;
}

Tensor normalize(const Tensor& input, const std::vector<float>& mean,
                 const std::vector<float>& std) {
  const Frames f = frames_of(input, "normalize");
  auto fits = [&](const std::vector<float>& v) {
    return v.size() == 1 || int64_t(v.size()) == f.c;
  };
  SIGNET_CHECK(fits(mean) && fits(std), "normalize: ", mean.size(), " means and ", std.size(),
               " stds for ", f.c, " channels of ", shape_str(input.shape()),
               " (give 1 or one per channel)");
  for (float s : std) SIGNET_CHECK(s != 0.0f, "normalize: a std of 0");
  Tensor out = empty(input.shape(), DType::f32);
  const int64_t plane = f.h * f.w;
  for (int64_t p = 0; p < f.n * f.c; ++p) {
    const size_t ch = size_t(p % f.c);
    const float m = mean[mean.size() == 1 ? 0 : ch], s = std[std.size() == 1 ? 0 : ch];
    const float* in = f.data() + p * plane;
    float* o = out.data<float>() + p * plane;
    for (int64_t i = 0; i < plane; ++i) o[i] = (in[i] - m) / s;
  }
  return out;
}

RandomCropResize::RandomCropResize(double min_side) : min_side_(min_side) {
  SIGNET_CHECK(min_side > 0.0 && min_side <= 1.0, "RandomCropResize: min_side ", min_side,
               " must be in (0, 1]");
}

// Draws the side fraction, then the top and left offsets.
Tensor RandomCropResize::apply(const Tensor& input, RngStream& rng) const {
  const Frames f = frames_of(input, "RandomCropResize");
  double s = 1.0;
  rng.uniform(&s, 1, min_side_, 1.0);
  const int64_t h = std::clamp<int64_t>(std::llround(s * double(f.h)), 1, f.h);
  const int64_t w = std::clamp<int64_t>(std::llround(s * double(f.w)), 1, f.w);
  const int64_t top = int64_t(rng.uniform_int(uint64_t(f.h - h + 1)));
  const int64_t left = int64_t(rng.uniform_int(uint64_t(f.w - w + 1)));
  return crop_resize(input, top, left, h, w);
}

RandomHorizontalFlip::RandomHorizontalFlip(double p) : p_(p) {
  SIGNET_CHECK(p >= 0.0 && p <= 1.0, "RandomHorizontalFlip: p ", p, " must be in [0, 1]");
}

// One uniform: flips when it is below p.
Tensor RandomHorizontalFlip::apply(const Tensor& input, RngStream& rng) const {
  double u = 0.0;
  rng.uniform(&u, 1);
  if (u < p_) return flip_horizontal(input);
  frames_of(input, "RandomHorizontalFlip");
  return input;
}

RandomAffine::RandomAffine(double max_degrees, double max_zoom, double max_shift, AffineFill fill)
    : max_degrees_(max_degrees), max_zoom_(max_zoom), max_shift_(max_shift), fill_(fill) {
  SIGNET_CHECK(max_degrees >= 0.0 && max_zoom >= 0.0 && max_zoom < 1.0 && max_shift >= 0.0,
               "RandomAffine: max_degrees ", max_degrees, ", max_zoom ", max_zoom, ", max_shift ",
               max_shift, " (need >= 0, max_zoom < 1)");
}

// Four uniforms in [-1, 1): angle, zoom, dx, dy.
Tensor RandomAffine::apply(const Tensor& input, RngStream& rng) const {
  const Frames f = frames_of(input, "RandomAffine");
  double u[4];
  rng.uniform(u, 4, -1.0, 1.0);
  AffineParams p;
  p.degrees = u[0] * max_degrees_;
  p.zoom = 1.0 + u[1] * max_zoom_;
  p.dx = u[2] * max_shift_ * double(f.w);
  p.dy = u[3] * max_shift_ * double(f.h);
  return affine_warp(input, p, fill_);
}

ColorJitter::ColorJitter(double brightness, double contrast)
    : brightness_(brightness), contrast_(contrast) {
  SIGNET_CHECK(brightness >= 0.0 && brightness <= 1.0 && contrast >= 0.0 && contrast <= 1.0,
               "ColorJitter: brightness ", brightness, " and contrast ", contrast,
               " must be in [0, 1]");
}

// Two uniforms in [-1, 1): brightness, contrast.
Tensor ColorJitter::apply(const Tensor& input, RngStream& rng) const {
  double u[2];
  rng.uniform(u, 2, -1.0, 1.0);
  return adjust_brightness_contrast(input, 1.0 + u[0] * brightness_, 1.0 + u[1] * contrast_);
}

TemporalJitter::TemporalJitter(int64_t frames, double min_speed, double max_speed)
    : frames_(frames), min_speed_(min_speed), max_speed_(max_speed) {
  SIGNET_CHECK(frames >= 1 && min_speed > 0.0 && min_speed <= max_speed, "TemporalJitter: frames ",
               frames, ", speeds ", min_speed, " .. ", max_speed,
               " (need frames >= 1, 0 < min_speed <= max_speed)");
}

// One uniform for the speed, then the start of the segment.
Tensor TemporalJitter::apply(const Tensor& input, RngStream& rng) const {
  SIGNET_CHECK(input.dim() == 4, "TemporalJitter: expects a clip (T, C, H, W), got ",
               shape_str(input.shape()));
  const int64_t t = input.size(0);
  double speed = min_speed_;
  rng.uniform(&speed, 1, min_speed_, max_speed_);
  const int64_t length = std::clamp<int64_t>(std::llround(double(frames_) * speed), 1, t);
  const int64_t start = int64_t(rng.uniform_int(uint64_t(t - length + 1)));
  return take_time(input, temporal_indices(start, length, frames_));
}

Normalize::Normalize(std::vector<float> mean, std::vector<float> std)
    : mean_(std::move(mean)), std_(std::move(std)) {
  SIGNET_CHECK(!mean_.empty() && !std_.empty(), "Normalize: no mean or no std given");
}

// No draws.
Tensor Normalize::apply(const Tensor& input, RngStream&) const {
  return normalize(input, mean_, std_);
}

Compose::Compose(std::vector<std::shared_ptr<const Transform>> transforms)
    : transforms_(std::move(transforms)) {
  for (const auto& t : transforms_) SIGNET_CHECK(t != nullptr, "Compose: a null transform");
}

// Applies each transform to the previous one's output.
Tensor Compose::apply(const Tensor& input, RngStream& rng) const {
  Tensor x = input;
  for (const auto& t : transforms_) x = t->apply(x, rng);
  return x;
}

// Splits the list, trims each item and checks every name against the known ones.
std::vector<std::string> augmentation_names(const std::string& names) {
  static const char* const kKnown[] = {"time", "crop", "rotate", "color", "flip"};
  std::vector<std::string> out;
  std::stringstream list(names);
  for (std::string name; std::getline(list, name, ',');) {
    const size_t first = name.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    name = name.substr(first, name.find_last_not_of(" \t") - first + 1);
    if (name == "none") continue;
    if (name == "affine") name = "rotate";
    SIGNET_CHECK(std::find(std::begin(kKnown), std::end(kKnown), name) != std::end(kKnown),
                 "augmentation: unknown name '", name, "' in '", names,
                 "' (known: time, crop, rotate or affine, color, flip; none)");
    out.push_back(name);
  }
  return out;
}

// Builds the chosen transforms in the fixed order, whatever the list's.
std::shared_ptr<const Transform> make_augmentation(const std::string& names, int64_t frames) {
  const std::vector<std::string> chosen = augmentation_names(names);
  const auto has = [&](const char* name) {
    return std::find(chosen.begin(), chosen.end(), name) != chosen.end();
  };
  std::vector<std::shared_ptr<const Transform>> t;
  if (has("time")) t.push_back(std::make_shared<TemporalJitter>(frames));
  if (has("crop")) t.push_back(std::make_shared<RandomCropResize>());
  if (has("rotate")) t.push_back(std::make_shared<RandomAffine>());
  if (has("color")) t.push_back(std::make_shared<ColorJitter>());
  if (has("flip")) t.push_back(std::make_shared<RandomHorizontalFlip>());
  if (t.empty()) return nullptr;
  return std::make_shared<Compose>(std::move(t));
}

}  // namespace signet::data
