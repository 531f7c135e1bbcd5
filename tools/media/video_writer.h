// Encodes RGB24 frames to a video file through FFmpeg (libavformat, libavcodec, libswscale).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace signet::media {

// True when signet_media was built with FFmpeg; without it every video function throws.
bool video_support();

// How a clip is encoded. The container comes from the file name's extension (.mp4, .avi,
// .mkv, ...); the codec is the first of `codecs` (comma-separated encoder names) this FFmpeg
// has and the container accepts.
struct VideoWriterOptions {
  double fps = 25.0;
  std::string codecs = "libx264,mpeg4";
  // Quality: libx264's constant rate factor (0 lossless .. 51); other codecs map it to
  // their quantiser scale (qscale = 1 + crf / 6, so the default 18 gives mpeg4 q 4).
  int crf = 18;
};

// Writes frames one at a time to a unique temporary beside `path` and renames it over `path` in
// close(). Width and height must be even (the 4:2:0 chroma planes most players take). Errors name
// the file.
class VideoWriter {
 public:
  VideoWriter(const std::string& path, int width, int height,
              const VideoWriterOptions& options = {});
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // Encodes one frame: height * width * 3 bytes, RGB, rows top to bottom.
  void write(const uint8_t* rgb);
  // Flushes the encoder, finishes the container and renames the file into place. A writer
  // destroyed without close() removes its temporary file.
  void close();
  // The encoder chosen ("libx264", "mpeg4", ...).
  const std::string& codec() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Writes a whole clip: frames * height * width * 3 RGB bytes.
void write_video(const std::string& path, const uint8_t* rgb, int64_t frames, int width, int height,
                 const VideoWriterOptions& options = {});

}  // namespace signet::media
