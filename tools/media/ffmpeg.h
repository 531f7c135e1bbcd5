// The FFmpeg headers signet_media uses and two helpers shared by the video reader and writer.
// Private to signet_media: only included where SIGNET_WITH_FFMPEG is defined.
#pragma once
#ifdef SIGNET_WITH_FFMPEG
#include <mutex>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

namespace signet::media {

// FFmpeg's text for an error code ("Invalid data found when processing input", ...).
inline std::string av_error_text(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

// Silences FFmpeg's own log lines (encoder banners, decoder complaints): signet's errors and
// warnings name the file and the reason instead.
inline void quiet_ffmpeg_logs() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_level(AV_LOG_FATAL); });
}

}  // namespace signet::media
#endif
