#include "tools/media/video_writer.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "engine/error.h"
#include "engine/io/file.h"
#include "tools/media/ffmpeg.h"

namespace signet::media {

#ifdef SIGNET_WITH_FFMPEG

bool video_support() {
  return true;
}

// The encoder, container and conversion of one open file.
struct VideoWriter::State {
  std::string path;
  std::string tmp;
  int width = 0;
  int height = 0;
  std::string codec_name;
  AVFormatContext* format = nullptr;
  AVCodecContext* codec = nullptr;
  AVStream* stream = nullptr;
  SwsContext* sws = nullptr;
  AVFrame* frame = nullptr;
  AVPacket* packet = nullptr;
  // The input frame with zeroed slack after it: swscale's SIMD reads up to 16 bytes past the
  // last row, which must not be whatever follows the caller's buffer.
  std::vector<uint8_t> staging;
  int64_t next_pts = 0;
  bool file_open = false;
  bool closed = false;

  // Frees the FFmpeg objects; removes the temporary file unless close() renamed it.
  ~State() {
    if (format && file_open && !(format->oformat->flags & AVFMT_NOFILE)) avio_closep(&format->pb);
    avformat_free_context(format);
    avcodec_free_context(&codec);
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&packet);
    if (file_open && !closed) std::remove(tmp.c_str());
  }

  // Sends one frame (nullptr: flush) and writes every packet the encoder has ready.
  void encode(AVFrame* input) {
    int rc = avcodec_send_frame(codec, input);
    SIGNET_CHECK(rc >= 0, path, ": encoder ", codec_name, " refused a frame: ", av_error_text(rc));
    for (;;) {
      rc = avcodec_receive_packet(codec, packet);
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      SIGNET_CHECK(rc >= 0, path, ": encoder ", codec_name, " failed: ", av_error_text(rc));
      av_packet_rescale_ts(packet, codec->time_base, stream->time_base);
      packet->stream_index = stream->index;
      rc = av_interleaved_write_frame(format, packet);
      SIGNET_CHECK(rc >= 0, path, ": cannot write a packet: ", av_error_text(rc));
    }
  }
};

namespace {

// The first encoder named in the comma-separated list that exists and the container accepts.
const AVCodec* pick_encoder(const std::string& path, const std::string& names,
                            const AVOutputFormat* container) {
  size_t begin = 0;
  while (begin <= names.size()) {
    size_t end = names.find(',', begin);
    if (end == std::string::npos) end = names.size();
    const std::string name = names.substr(begin, end - begin);
    const AVCodec* codec = avcodec_find_encoder_by_name(name.c_str());
    if (codec && avformat_query_codec(container, codec->id, FF_COMPLIANCE_NORMAL) == 1)
      return codec;
    begin = end + 1;
  }
  SIGNET_FAIL(path, ": none of the encoders '", names, "' is available for the ", container->name,
              " container");
}

// yuv420p when the encoder takes it, otherwise its first pixel format.
AVPixelFormat pick_pixel_format(const AVCodec* codec) {
  if (!codec->pix_fmts) return AV_PIX_FMT_YUV420P;
  for (const AVPixelFormat* f = codec->pix_fmts; *f != AV_PIX_FMT_NONE; ++f)
    if (*f == AV_PIX_FMT_YUV420P) return *f;
  return codec->pix_fmts[0];
}

}  // namespace

// Picks container and encoder, opens them and the temporary file, writes the header.
VideoWriter::VideoWriter(const std::string& path, int width, int height,
                         const VideoWriterOptions& options)
    : state_(std::make_unique<State>()) {
  quiet_ffmpeg_logs();
  State& s = *state_;
  s.path = path;
  s.tmp = signet::io::temporary_path_for(path);
  s.width = width;
  s.height = height;
  SIGNET_CHECK(width > 0 && height > 0 && width % 2 == 0 && height % 2 == 0, path,
               ": cannot write a ", width, "x", height,
               " video (width and height must be even and positive)");
  SIGNET_CHECK(options.fps > 0.0, path, ": frame rate ", options.fps, " is not positive");
  SIGNET_CHECK(options.crf >= 0 && options.crf <= 51, path, ": crf ", options.crf,
               " is outside 0..51");

  int rc = avformat_alloc_output_context2(&s.format, nullptr, nullptr, path.c_str());
  SIGNET_CHECK(rc >= 0 && s.format, path,
               ": no container format for this file name (use .mp4, .avi, .mkv, ...)");
  const AVCodec* encoder = pick_encoder(path, options.codecs, s.format->oformat);
  s.codec_name = encoder->name;
  s.codec = avcodec_alloc_context3(encoder);
  SIGNET_CHECK(s.codec, path, ": out of memory for encoder ", s.codec_name);
  s.codec->width = width;
  s.codec->height = height;
  s.codec->framerate = av_d2q(options.fps, 100000);
  s.codec->time_base = av_inv_q(s.codec->framerate);
  s.codec->pix_fmt = pick_pixel_format(encoder);
  s.codec->gop_size = 12;
  s.codec->thread_count = 1;  // clips are encoded in parallel, one encoder per thread
  if (s.format->oformat->flags & AVFMT_GLOBALHEADER) s.codec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (s.codec_name == "libx264") {
    av_opt_set(s.codec->priv_data, "preset", "fast", 0);
    av_opt_set_int(s.codec->priv_data, "crf", options.crf, 0);
    // x264's macroblock-tree rate control gives different bytes for the same frames depending
    // on the thread that encodes them (measured: 16 of 40 clips differ with 2 threads); off,
    // a clip's file depends only on its frames.
    av_opt_set(s.codec->priv_data, "x264-params", "mbtree=0", 0);
  } else {
    s.codec->flags |= AV_CODEC_FLAG_QSCALE;
    s.codec->global_quality = FF_QP2LAMBDA * (1 + options.crf / 6);
  }
  rc = avcodec_open2(s.codec, encoder, nullptr);
  SIGNET_CHECK(rc >= 0, path, ": cannot open encoder ", s.codec_name, ": ", av_error_text(rc));

  s.stream = avformat_new_stream(s.format, nullptr);
  SIGNET_CHECK(s.stream, path, ": cannot add a video stream");
  s.stream->time_base = s.codec->time_base;
  s.stream->avg_frame_rate = s.codec->framerate;
  rc = avcodec_parameters_from_context(s.stream->codecpar, s.codec);
  SIGNET_CHECK(rc >= 0, path, ": cannot set stream parameters: ", av_error_text(rc));

  if (!(s.format->oformat->flags & AVFMT_NOFILE)) {
    rc = avio_open(&s.format->pb, s.tmp.c_str(), AVIO_FLAG_WRITE);
    SIGNET_CHECK(rc >= 0, s.tmp, ": cannot open for writing: ", av_error_text(rc));
  }
  s.file_open = true;
  rc = avformat_write_header(s.format, nullptr);
  SIGNET_CHECK(rc >= 0, path, ": cannot write the container header: ", av_error_text(rc));

  s.sws = sws_getContext(width, height, AV_PIX_FMT_RGB24, width, height, s.codec->pix_fmt,
                         SWS_BICUBIC | SWS_ACCURATE_RND, nullptr, nullptr, nullptr);
  s.frame = av_frame_alloc();
  s.packet = av_packet_alloc();
  SIGNET_CHECK(s.sws && s.frame && s.packet, path, ": out of memory for the frame converter");
  s.frame->format = s.codec->pix_fmt;
  s.frame->width = width;
  s.frame->height = height;
  s.staging.assign(size_t(width) * height * 3 + 64, 0);
  rc = av_frame_get_buffer(s.frame, 0);
  SIGNET_CHECK(rc >= 0, path, ": cannot allocate a frame: ", av_error_text(rc));
}

VideoWriter::~VideoWriter() = default;

// Converts RGB to the encoder's pixel format and encodes it with the next timestamp.
void VideoWriter::write(const uint8_t* rgb) {
  State& s = *state_;
  SIGNET_CHECK(!s.closed, s.path, ": write after close");
  int rc = av_frame_make_writable(s.frame);
  SIGNET_CHECK(rc >= 0, s.path, ": cannot make the frame writable: ", av_error_text(rc));
  std::copy_n(rgb, size_t(s.width) * s.height * 3, s.staging.begin());
  const uint8_t* src[4] = {s.staging.data(), nullptr, nullptr, nullptr};
  const int src_stride[4] = {3 * s.width, 0, 0, 0};  // sws_scale reads four planes
  sws_scale(s.sws, src, src_stride, 0, s.height, s.frame->data, s.frame->linesize);
  s.frame->pts = s.next_pts++;
  s.encode(s.frame);
}

// Flushes, writes the trailer, closes the temporary file and renames it to the final name.
void VideoWriter::close() {
  State& s = *state_;
  SIGNET_CHECK(!s.closed, s.path, ": closed twice");
  SIGNET_CHECK(s.next_pts > 0, s.path, ": no frames written");
  s.encode(nullptr);
  int rc = av_write_trailer(s.format);
  SIGNET_CHECK(rc >= 0, s.path, ": cannot finish the container: ", av_error_text(rc));
  if (!(s.format->oformat->flags & AVFMT_NOFILE)) {
    rc = avio_closep(&s.format->pb);
    SIGNET_CHECK(rc >= 0, s.tmp, ": cannot close: ", av_error_text(rc));
  }
  if (std::rename(s.tmp.c_str(), s.path.c_str()) != 0)
    SIGNET_FAIL(s.path, ": cannot rename ", s.tmp, " into place");
  s.closed = true;
}

const std::string& VideoWriter::codec() const {
  return state_->codec_name;
}

#else  // built without FFmpeg

bool video_support() {
  return false;
}

struct VideoWriter::State {};

VideoWriter::VideoWriter(const std::string& path, int, int, const VideoWriterOptions&) {
  SIGNET_FAIL(path, ": cannot write video: signet was built without FFmpeg");
}

VideoWriter::~VideoWriter() = default;

// Unreachable: the constructor always throws.
void VideoWriter::write(const uint8_t*) {
  SIGNET_FAIL("built without FFmpeg");
}
// Unreachable: the constructor always throws.
void VideoWriter::close() {
  SIGNET_FAIL("built without FFmpeg");
}
// Unreachable: the constructor always throws.
const std::string& VideoWriter::codec() const {
  SIGNET_FAIL("built without FFmpeg");
}

#endif

// Opens a writer, writes every frame and closes it.
void write_video(const std::string& path, const uint8_t* rgb, int64_t frames, int width, int height,
                 const VideoWriterOptions& options) {
  SIGNET_CHECK(frames > 0, path, ": cannot write a video of ", frames, " frames");
  VideoWriter writer(path, width, height, options);
  const size_t frame_bytes = size_t(width) * size_t(height) * 3;
  for (int64_t t = 0; t < frames; ++t) writer.write(rgb + size_t(t) * frame_bytes);
  writer.close();
}

}  // namespace signet::media
