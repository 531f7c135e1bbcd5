#include "tools/media/video_reader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "engine/error.h"
#include "tools/media/ffmpeg.h"

namespace signet::media {

#ifdef SIGNET_WITH_FFMPEG

namespace {

// An open input file with its video stream's decoder; frees everything on destruction.
struct Decoder {
  std::string path;
  AVFormatContext* format = nullptr;
  AVCodecContext* codec = nullptr;
  AVStream* stream = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* frame = nullptr;
  SwsContext* sws = nullptr;

  // Opens the file, finds the best video stream and opens its decoder.
  explicit Decoder(const std::string& file) : path(file) {
    quiet_ffmpeg_logs();
    std::error_code ec;
    SIGNET_CHECK(std::filesystem::is_regular_file(file, ec), path, ": no such file");
    SIGNET_CHECK(std::filesystem::file_size(file, ec) > 0, path, ": empty file (0 bytes)");
    int rc = avformat_open_input(&format, file.c_str(), nullptr, nullptr);
    SIGNET_CHECK(rc >= 0, path,
                 ": cannot open as video (truncated or not a video?): ", av_error_text(rc));
    rc = avformat_find_stream_info(format, nullptr);
    SIGNET_CHECK(rc >= 0, path, ": cannot read the stream information: ", av_error_text(rc));
    const AVCodec* decoder = nullptr;
    rc = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
    SIGNET_CHECK(rc >= 0 && decoder, path, ": no decodable video stream: ", av_error_text(rc));
    stream = format->streams[rc];
    codec = avcodec_alloc_context3(decoder);
    SIGNET_CHECK(codec, path, ": out of memory for decoder ", decoder->name);
    rc = avcodec_parameters_to_context(codec, stream->codecpar);
    SIGNET_CHECK(rc >= 0, path, ": bad stream parameters: ", av_error_text(rc));
    codec->thread_count = 1;  // clips are decoded in parallel by the loader's threads
    rc = avcodec_open2(codec, decoder, nullptr);
    SIGNET_CHECK(rc >= 0, path, ": cannot open decoder ", decoder->name, ": ", av_error_text(rc));
    packet = av_packet_alloc();
    frame = av_frame_alloc();
    SIGNET_CHECK(packet && frame, path, ": out of memory for packets");
  }
  ~Decoder() {
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&codec);
    avformat_close_input(&format);
  }
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // The stream's average frame rate ({0, 1} when unknown).
  AVRational frame_rate() const { return av_guess_frame_rate(format, stream, nullptr); }
  // The timestamp of the stream's first frame (0 when the container does not say).
  int64_t start_time() const {
    return stream->start_time == AV_NOPTS_VALUE ? 0 : stream->start_time;
  }
};

// Result of decoding one frame range.
struct DecodedRange {
  std::vector<uint8_t> pixels;  // frames * height * width * channels
  int64_t frames = 0;
  int64_t frames_seen = 0;  // decoded frames up to where decoding stopped
  int width = 0;
  int height = 0;
  bool seek_unreliable = false;  // seeking gave no usable frame position: decode from the start
  std::string last_error;        // the last decoder complaint about a packet
};

// Output size for a source of w x h under the requested width and height (0 = derived).
void output_size(int w, int h, int want_w, int want_h, int& out_w, int& out_h) {
  out_w = want_w > 0   ? want_w
          : want_h > 0 ? std::max(1, int(std::lround(double(w) * want_h / h)))
                       : w;
  out_h = want_h > 0   ? want_h
          : want_w > 0 ? std::max(1, int(std::lround(double(h) * want_w / w)))
                       : h;
}

// Decodes 0-based frames [first, last] of d, seeking first when `seek` is set.
DecodedRange decode_range(Decoder& d, int64_t first, int64_t last, const VideoReadOptions& opt,
                          bool seek) {
  DecodedRange out;
  const int channels = opt.color == ColorMode::rgb ? 3 : 1;
  const AVPixelFormat dst_format =
      opt.color == ColorMode::rgb ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_GRAY8;
  const AVRational fps = d.frame_rate();
  int64_t index = 0;  // 0-based index of the next decoded frame; -1: unknown after a seek
  if (seek && first > 0 && fps.num > 0 && fps.den > 0) {
    const int64_t ts = d.start_time() + av_rescale_q(first, av_inv_q(fps), d.stream->time_base);
    if (av_seek_frame(d.format, d.stream->index, ts, AVSEEK_FLAG_BACKWARD) >= 0) {
      avcodec_flush_buffers(d.codec);
      index = -1;
    }
  }

  bool done = false;
  // Converts and keeps every frame the decoder has ready; sets done past `last`.
  auto drain = [&]() {
    for (;;) {
      int rc = avcodec_receive_frame(d.codec, d.frame);
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      if (rc < 0) {
        out.last_error = av_error_text(rc);
        return;
      }
      if (index < 0) {
        const int64_t ts = d.frame->best_effort_timestamp;
        if (ts == AV_NOPTS_VALUE) {
          out.seek_unreliable = true;
        } else {
          const double seconds = double(ts - d.start_time()) * av_q2d(d.stream->time_base);
          index = std::llround(seconds * av_q2d(fps));
          out.seek_unreliable = index < 0 || index > first;
        }
        if (out.seek_unreliable) {
          done = true;
          return;
        }
      }
      const int64_t at = index++;
      out.frames_seen = index;
      if (at < first) continue;
      if (at > last) {
        done = true;
        return;
      }
      int w = 0, h = 0;
      output_size(d.frame->width, d.frame->height, opt.width, opt.height, w, h);
      SIGNET_CHECK(out.frames == 0 || (w == out.width && h == out.height), d.path,
                   ": frame size changes within the video (", out.width, "x", out.height, " to ", w,
                   "x", h, ")");
      out.width = w;
      out.height = h;
      d.sws = sws_getCachedContext(d.sws, d.frame->width, d.frame->height,
                                   AVPixelFormat(d.frame->format), w, h, dst_format,
                                   SWS_BILINEAR | SWS_ACCURATE_RND, nullptr, nullptr, nullptr);
      SIGNET_CHECK(d.sws, d.path, ": cannot convert ",
                   av_get_pix_fmt_name(AVPixelFormat(d.frame->format)), " frames to ",
                   av_get_pix_fmt_name(dst_format));
      const size_t frame_bytes = size_t(w) * h * channels;
      out.pixels.resize(out.pixels.size() + frame_bytes);
      uint8_t* dst[4] = {out.pixels.data() + out.pixels.size() - frame_bytes};
      const int dst_stride[4] = {w * channels, 0, 0, 0};  // sws_scale reads four planes
      sws_scale(d.sws, d.frame->data, d.frame->linesize, 0, d.frame->height, dst, dst_stride);
      ++out.frames;
      if (at == last) {
        done = true;
        return;
      }
    }
  };

  while (!done) {
    int rc = av_read_frame(d.format, d.packet);
    if (rc == AVERROR_EOF) {
      avcodec_send_packet(d.codec, nullptr);
      drain();
      break;
    }
    SIGNET_CHECK(rc >= 0, d.path,
                 ": cannot read (truncated or corrupt file?): ", av_error_text(rc));
    if (d.packet->stream_index == d.stream->index) {
      rc = avcodec_send_packet(d.codec, d.packet);
      if (rc < 0 && rc != AVERROR(EAGAIN)) out.last_error = av_error_text(rc);
    }
    av_packet_unref(d.packet);
    drain();
  }
  return out;
}

}  // namespace

// Reads the container's description of its best video stream.
VideoInfo probe_video(const std::string& path) {
  Decoder d(path);
  VideoInfo info;
  info.width = d.codec->width;
  info.height = d.codec->height;
  info.frames = d.stream->nb_frames;
  const AVRational fps = d.frame_rate();
  info.fps = fps.den > 0 ? av_q2d(fps) : 0.0;
  info.codec = d.codec->codec->name;
  info.container = d.format->iformat->name;
  return info;
}

// Decodes the range, seeking when it helps and starting over without seeking when the
// stream's timestamps cannot place the frames reached by the seek.
Tensor read_video(const std::string& path, const VideoReadOptions& options) {
  SIGNET_CHECK(options.frame_start >= 1, path, ": frame_start ", options.frame_start,
               " is not 1-based (the first frame is 1)");
  SIGNET_CHECK(options.frame_end == -1 || options.frame_end >= options.frame_start, path,
               ": frame_end ", options.frame_end, " is before frame_start ", options.frame_start,
               " (use -1 for the end)");
  SIGNET_CHECK(options.width >= 0 && options.height >= 0, path, ": output size ", options.width,
               "x", options.height, " is negative");
  const int64_t first = options.frame_start - 1;
  const int64_t last =
      options.frame_end < 0 ? std::numeric_limits<int64_t>::max() : options.frame_end - 1;
  DecodedRange range;
  {
    Decoder d(path);
    range = decode_range(d, first, last, options, true);
  }
  if (range.seek_unreliable) {
    Decoder d(path);
    range = decode_range(d, first, last, options, false);
  }
  SIGNET_CHECK(range.frames_seen > 0, path, ": no video frames could be decoded",
               range.last_error.empty() ? "" : ": " + range.last_error);
  SIGNET_CHECK(range.frames > 0, path, ": frame_start ", options.frame_start,
               " is past the last frame (the video has ", range.frames_seen, " frames)");
  const int channels = options.color == ColorMode::rgb ? 3 : 1;
  Tensor clip = empty({range.frames, range.height, range.width, channels}, DType::u8);
  std::memcpy(clip.data<uint8_t>(), range.pixels.data(), range.pixels.size());
  return clip;
}

#else  // built without FFmpeg

// Always throws: there is no decoder.
VideoInfo probe_video(const std::string& path) {
  SIGNET_FAIL(path, ": cannot read video: signet was built without FFmpeg");
}

// Always throws: there is no decoder.
Tensor read_video(const std::string& path, const VideoReadOptions&) {
  SIGNET_FAIL(path, ": cannot read video: signet was built without FFmpeg");
}

#endif

// "uniform" or "random_segment".
const char* frame_sampling_name(FrameSampling rule) {
  return rule == FrameSampling::uniform ? "uniform" : "random_segment";
}

// "loop_reverse", "repeat_last", "stretch" or "zeros".
const char* short_clip_padding_name(ShortClipPadding pad) {
  switch (pad) {
    case ShortClipPadding::loop_reverse:
      return "loop_reverse";
    case ShortClipPadding::repeat_last:
      return "repeat_last";
    case ShortClipPadding::stretch:
      return "stretch";
    case ShortClipPadding::zeros:
      return "zeros";
  }
  return "?";
}

// The rule with that name.
FrameSampling parse_frame_sampling(const std::string& name) {
  for (FrameSampling r : {FrameSampling::uniform, FrameSampling::random_segment})
    if (name == frame_sampling_name(r)) return r;
  SIGNET_FAIL("unknown frame sampling '", name, "' (known: uniform, random_segment)");
}

// The padding with that name.
ShortClipPadding parse_short_clip_padding(const std::string& name) {
  for (ShortClipPadding p : {ShortClipPadding::loop_reverse, ShortClipPadding::repeat_last,
                             ShortClipPadding::stretch, ShortClipPadding::zeros})
    if (name == short_clip_padding_name(p)) return p;
  SIGNET_FAIL("unknown short-clip padding '", name,
              "' (known: loop_reverse, repeat_last, stretch, zeros)");
}

namespace {

// `frames` indices spread evenly over 0 .. available-1, both ends included (the middle for 1).
std::vector<int64_t> evenly_spread(int64_t available, int64_t frames) {
  std::vector<int64_t> idx(size_t(frames), (available - 1) / 2);
  if (frames == 1) return idx;
  for (int64_t i = 0; i < frames; ++i)
    idx[size_t(i)] = (i * (available - 1) * 2 + (frames - 1)) / ((frames - 1) * 2);
  return idx;
}

}  // namespace

// Long clips by rule, short ones padded.
std::vector<int64_t> sample_frame_indices(int64_t available, int64_t frames, FrameSampling rule,
                                          ShortClipPadding pad, RngStream* rng) {
  SIGNET_CHECK(available > 0, "sample_frame_indices: the clip has no frames");
  SIGNET_CHECK(frames > 0, "sample_frame_indices: cannot sample ", frames, " frames");
  if (available >= frames) {
    if (rule == FrameSampling::uniform) return evenly_spread(available, frames);
    SIGNET_CHECK(rng, "sample_frame_indices: random_segment needs a random stream");
    const int64_t start = int64_t(rng->uniform_int(uint64_t(available - frames + 1)));
    std::vector<int64_t> idx(static_cast<size_t>(frames));
    for (int64_t i = 0; i < frames; ++i) idx[size_t(i)] = start + i;
    return idx;
  }
  if (pad == ShortClipPadding::stretch) return evenly_spread(available, frames);
  std::vector<int64_t> idx(static_cast<size_t>(frames));
  for (int64_t i = 0; i < frames; ++i) {
    if (pad == ShortClipPadding::zeros) {
      idx[size_t(i)] = i < available ? i : -1;
    } else if (pad == ShortClipPadding::repeat_last) {
      idx[size_t(i)] = std::min(i, available - 1);
    } else {
      const int64_t m = i % (2 * available);
      idx[size_t(i)] = m < available ? m : 2 * available - 1 - m;
    }
  }
  return idx;
}

// Real frames of a sampled clip: only zeros padding leaves some of them out.
int64_t sampled_length(int64_t available, int64_t frames, ShortClipPadding pad) {
  return pad == ShortClipPadding::zeros ? std::min(available, frames) : -1;
}

// Copies the selected leading-dimension slices into a new tensor; -1 zero-fills a slice.
Tensor take_frames(const Tensor& clip, const std::vector<int64_t>& indices) {
  SIGNET_CHECK(clip.dim() >= 1, "take_frames: needs a (T, ...) clip, got a scalar");
  SIGNET_CHECK(!indices.empty(), "take_frames: no indices");
  const Tensor src = clip.contiguous();
  const int64_t t = src.size(0);
  const size_t frame_bytes =
      size_t(src.numel() / std::max<int64_t>(t, 1)) * dtype_size(src.dtype());
  Shape shape = src.shape();
  shape[0] = int64_t(indices.size());
  Tensor out = empty(shape, src.dtype());
  const auto* from = static_cast<const uint8_t*>(src.raw_data());
  auto* to = static_cast<uint8_t*>(out.raw_data());
  for (size_t i = 0; i < indices.size(); ++i) {
    SIGNET_CHECK(indices[i] >= -1 && indices[i] < t, "take_frames: index ", indices[i],
                 " is outside the clip's ", t, " frames (-1: a zero frame)");
    if (indices[i] == -1) {
      std::memset(to + i * frame_bytes, 0, frame_bytes);
      continue;
    }
    std::memcpy(to + i * frame_bytes, from + indices[i] * frame_bytes, frame_bytes);
  }
  return out;
}

}  // namespace signet::media
