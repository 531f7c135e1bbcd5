// `signet predict`: class probabilities of a trained model for video files, image files or
// a preprocessed .npy tensor; the top 5 per input, --output writes them all as .npy. Long
// videos can be cut into overlapping windows whose predictions are averaged (or voted).
#include <algorithm>
#include <cstdio>

#include "engine/autograd.h"
#include "engine/io/npy.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/run_folder.h"
#include "tools/media/clip_dataset.h"
#include "tools/media/image_reader.h"
#include "tools/media/netpbm.h"
#include "tools/media/video_reader.h"

namespace signet::cli {
namespace {

// The command line of predict.
struct PredictArgs {
  std::string run;
  std::vector<std::string> inputs;
  std::string output;
  int64_t window = 0, stride = 0;
  bool vote = false;
  std::string device = "cpu";
};

// Prints the usage.
void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: signet predict --run RUN_DIR_or_CHECKPOINT INPUT... [--output out.npy]\n"
               "                      [--window W --stride S [--vote]] [--device cpu|cuda]\n"
               "  INPUT: a .npy tensor (one sample or a batch, u8 scaled to [0, 1]), an image\n"
               "  (.png .jpg .bmp .pgm .ppm) or a video; prints the top 5 classes of each\n"
               "  --window W --stride S  videos: average the predictions of W-frame windows\n"
               "                         every S frames (--vote: majority vote instead)\n"
               "  --output FILE          (inputs, classes) f32 probabilities\n");
}

// The lower-case extension of path, with its dot.
std::string extension(const std::string& path) {
  size_t dot = path.rfind('.');
  std::string e = dot == std::string::npos ? "" : path.substr(dot);
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  return e;
}

// Softmax probabilities (N, classes), on the cpu, of a batch of samples run on the model's device;
// lengths (i64 (N), optional) gives zero-padded sequences' real steps.
Tensor probabilities(models::Model& model, const Tensor& batch, const Tensor& lengths = Tensor()) {
  NoGradGuard no_grad;
  RngStream unused = dropout_stream(0, 0);
  Device device = model.parameters().front().device();
  const Tensor x = batch.to(device);
  const Tensor logits =
      lengths.defined() ? model.forward_with_lengths(x, lengths, unused) : model.forward(x, unused);
  return softmax(logits, 1).to(Device::cpu());
}

// The samples of a .npy file as a batch with the model's sample shape.
Tensor npy_batch(const std::string& path, const Shape& sample) {
  Tensor t = io::read_npy(path);
  t = t.dtype() == DType::u8 ? t.to(DType::f32) * (1.0 / 255.0) : t.to(DType::f32);
  if (t.dim() == static_cast<int64_t>(sample.size())) t = t.unsqueeze(0);
  Shape rest(t.shape().begin() + 1, t.shape().end());
  SIGNET_CHECK(rest == sample, "predict: ", path, " has shape ", shape_str(t.shape()),
               "; the model takes ", shape_str(sample), " or (N, ", shape_str(sample), ")");
  return t;
}

// An image file as one (C, H, W) sample in [0, 1] at the model's size.
Tensor image_sample(const std::string& path, const Shape& sample) {
  SIGNET_CHECK(sample.size() == 3, "predict: ", path, " is an image but the model takes ",
               shape_str(sample));
  std::string e = extension(path);
  media::Image img = e == ".pgm" || e == ".ppm"
                         ? media::read_netpbm(path)
                         : media::read_image(path, static_cast<int>(sample[0]));
  SIGNET_CHECK(img.channels == sample[0], "predict: ", path, " has ", img.channels,
               " channels; the model takes ", sample[0]);
  img = media::resize_image(img, static_cast<int>(sample[2]), static_cast<int>(sample[1]));
  std::vector<uint8_t> px = img.pixels;
  Tensor hwc = from_vector(px, {sample[1], sample[2], sample[0]});
  return hwc.permute({2, 0, 1}).to(DType::f32) * (1.0 / 255.0);
}

// The probabilities of a video: one clip sampled to the model's frames, or windows; short ones
// padded as in training (`pad`; under zeros the model is told each window's real length).
std::vector<float> video_probs(models::Model& model, const std::string& path, const Shape& sample,
                               const PredictArgs& a, int64_t classes, media::ShortClipPadding pad) {
  SIGNET_CHECK(sample.size() == 4, "predict: ", path, " is a video but the model takes ",
               shape_str(sample));
  media::VideoReadOptions vo;
  vo.color = sample[1] == 1 ? media::ColorMode::gray : media::ColorMode::rgb;
  vo.height = static_cast<int>(sample[2]);
  vo.width = static_cast<int>(sample[3]);
  Tensor clip = media::read_video(path, vo);  // (T, H, W, C) u8
  int64_t frames = clip.size(0), t = sample[0];
  std::vector<std::vector<int64_t>> windows;
  if (a.window > 0) {
    for (int64_t start = 0;; start += a.stride) {
      std::vector<int64_t> w;
      for (int64_t i = start; i < std::min(frames, start + a.window); ++i) w.push_back(i);
      windows.push_back(w);
      if (start + a.window >= frames) break;
    }
  } else {
    std::vector<int64_t> all(static_cast<size_t>(frames));
    for (int64_t i = 0; i < frames; ++i) all[static_cast<size_t>(i)] = i;
    windows.push_back(all);
  }
  std::vector<float> sum(static_cast<size_t>(classes), 0.f);
  for (const std::vector<int64_t>& w : windows) {
    Tensor part = media::take_frames(clip, w);
    std::vector<int64_t> idx =
        media::sample_frame_indices(part.size(0), t, media::FrameSampling::uniform, pad);
    Tensor x = media::clip_to_float(media::take_frames(part, idx)).unsqueeze(0);
    const int64_t length = media::sampled_length(part.size(0), t, pad);
    Tensor lengths = length >= 0 ? from_vector(std::vector<int64_t>{length}, {1}) : Tensor();
    std::vector<float> p = probabilities(model, x, lengths).to_vector<float>();
    if (a.vote)
      sum[static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin())] += 1.f;
    else
      for (size_t c = 0; c < p.size(); ++c) sum[c] += p[c];
  }
  for (float& v : sum) v /= static_cast<float>(windows.size());
  std::printf("%s: %zu window%s%s\n", path.c_str(), windows.size(), windows.size() == 1 ? "" : "s",
              a.vote ? " (vote shares)" : "");
  return sum;
}

// Parses the command line.
PredictArgs parse(int argc, char** argv, bool* help) {
  PredictArgs a;
  ArgCursor args("predict", argc, argv);
  while (args.more()) {
    std::string s = args.next();
    if (s == "--help" || s == "-h") {
      *help = true;
      return a;
    } else if (s == "--run") {
      a.run = args.value(s);
    } else if (s == "--output") {
      a.output = args.value(s);
    } else if (s == "--window") {
      a.window = parse_int("predict", s, args.value(s));
    } else if (s == "--stride") {
      a.stride = parse_int("predict", s, args.value(s));
    } else if (s == "--vote") {
      a.vote = true;
    } else if (s == "--device") {
      a.device = args.value(s);
    } else if (s.rfind("--", 0) == 0) {
      throw UsageError("predict", "unknown argument '" + s + "'");
    } else {
      a.inputs.push_back(s);
    }
  }
  if (a.run.empty()) throw UsageError("predict", "--run RUN_DIR_or_CHECKPOINT is required");
  if (a.inputs.empty()) throw UsageError("predict", "no input files");
  if (a.window < 0 || (a.window > 0 && a.stride < 1) || (a.window == 0 && a.stride != 0))
    throw UsageError("predict", "--window W needs --stride S, both positive");
  if (a.vote && a.window == 0) throw UsageError("predict", "--vote needs --window and --stride");
  parse_device("predict", a.device);
  return a;
}

}  // namespace

int run_predict(int argc, char** argv) {
  bool help = false;
  PredictArgs a = parse(argc, argv, &help);
  if (help) {
    usage(stdout);
    return 0;
  }
  OpenedRun run = open_run("predict", a.run);
  run.model->to(parse_device("predict", a.device));
  int64_t classes = static_cast<int64_t>(run.class_names.size());
  std::vector<float> all;
  int64_t rows = 0;
  for (const std::string& path : a.inputs) {
    std::string e = extension(path);
    std::vector<std::vector<float>> outs;
    std::vector<std::string> labels;
    if (e == ".npy") {
      Tensor p = probabilities(*run.model, npy_batch(path, run.input_shape));
      std::vector<float> v = p.to_vector<float>();
      for (int64_t i = 0; i < p.size(0); ++i) {
        outs.emplace_back(v.begin() + i * classes, v.begin() + (i + 1) * classes);
        labels.push_back(p.size(0) == 1 ? path : path + "[" + std::to_string(i) + "]");
      }
    } else if (e == ".png" || e == ".jpg" || e == ".jpeg" || e == ".bmp" || e == ".pgm" ||
               e == ".ppm") {
      Tensor x = image_sample(path, run.input_shape).unsqueeze(0);
      outs.push_back(probabilities(*run.model, x).to_vector<float>());
      labels.push_back(path);
    } else {
      outs.push_back(video_probs(*run.model, path, run.input_shape, a, classes,
                                 padding_of("predict", run.config)));
      labels.push_back(path);
    }
    for (size_t i = 0; i < outs.size(); ++i) {
      std::printf("%s\n", labels[i].c_str());
      print_top5(outs[i], run.class_names);
      all.insert(all.end(), outs[i].begin(), outs[i].end());
      ++rows;
    }
  }
  if (!a.output.empty()) {
    io::write_npy(a.output, from_vector(all, {rows, classes}));
    std::printf("wrote %s (%lld x %lld probabilities)\n", a.output.c_str(),
                static_cast<long long>(rows), static_cast<long long>(classes));
  }
  return 0;
}

}  // namespace signet::cli
