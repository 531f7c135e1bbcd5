// Decoded-clip cache: the u8 clips of one list of videos in one packed file with an index, so
// a later run reads them back instead of decoding the videos again.
//
// Layout (little-endian, written to a unique temporary and renamed into place):
//   "SGNCLIPS" | u32 format version | settings: i32 size, i64 frames, u8 color, u8 sampling,
//   u8 padding | u64 entry count | per entry: u32 + path bytes, i64 frame_start, i64 frame_end,
//   u64 file size, i64 mtime (ns), i64 label, i64 length (real frames before zero padding,
//   -1: all), u32 + error bytes, i64 T, H, W, C (0 when the file was skipped), u64 data offset
//   | the clips' bytes back to back | "SGNCEND\0"
// An entry records the source's size and modification time: a source that changed is decoded
// again. An entry with an error remembers why the file was skipped, so a bad file is not
// decoded again either.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "tools/media/video_reader.h"

namespace signet::media {

// Version of the layout above; a cache of another version is rebuilt. 2: entries record the
// clip's length.
constexpr uint32_t kClipCacheVersion = 2;

// What produced the cached clips; a cache made with other settings is rebuilt.
struct ClipCacheSettings {
  int size = 0;        // frames resized to size x size (0: source size)
  int64_t frames = 0;  // T after sampling
  ColorMode color = ColorMode::rgb;
  FrameSampling sampling = FrameSampling::uniform;
  ShortClipPadding padding = ShortClipPadding::loop_reverse;
};

// The settings in words ("size 32, 16 frames, rgb, uniform, loop_reverse"), for messages.
std::string settings_str(const ClipCacheSettings& settings);

// Size and modification time of a file: a cached entry is used while both are unchanged.
struct FileStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};
// The stamp of path; false when the file cannot be inspected (missing, not a regular file).
bool file_stamp(const std::string& path, FileStamp* stamp);

// One source video: where it came from and its clip, or why it was skipped.
struct ClipCacheEntry {
  std::string path;
  int64_t frame_start = 1;
  int64_t frame_end = -1;
  FileStamp stamp;
  int64_t label = 0;
  int64_t length = -1;  // real frames before zero padding (data::Sample::length); -1: all
  std::string error;    // non-empty: the file could not be decoded, for this reason
  Tensor clip;          // u8 (T, H, W, C) when error is empty
};

// What read_clip_cache found.
struct ClipCacheContents {
  bool usable = false;  // the file exists, is whole, and was made with the same settings
  std::string reason;   // why it is not usable ("" when there is no file)
  std::vector<ClipCacheEntry> entries;
};

// Reads the cache at path. A missing file, another version or other settings, or a damaged
// (truncated, malformed) file gives usable = false with the reason; it never throws for them.
ClipCacheContents read_clip_cache(const std::string& path, const ClipCacheSettings& settings);

// Writes the entries to path (temporary name, then renamed); throws signet::Error naming the
// file when it cannot be written.
void write_clip_cache(const std::string& path, const ClipCacheSettings& settings,
                      const std::vector<ClipCacheEntry>& entries);

}  // namespace signet::media
