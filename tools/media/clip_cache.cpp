#include "tools/media/clip_cache.h"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/error.h"
#include "engine/io/file.h"

namespace signet::media {

namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'S', 'G', 'N', 'C', 'L', 'I', 'P', 'S'};
constexpr char kTrailer[8] = {'S', 'G', 'N', 'C', 'E', 'N', 'D', '\0'};

// Why a cache file cannot be used; caught inside read_clip_cache and turned into a reason.
struct Damaged {
  std::string why;
};

// Reads fixed-size values and strings from the cache, never past the file's end.
class CacheReader {
 public:
  CacheReader(std::ifstream& in, uint64_t file_size) : in_(in), size_(file_size) {}
  // Copies n bytes to out; Damaged when the file ends first.
  void bytes(void* out, uint64_t n) {
    if (n > size_ - pos_)
      throw Damaged{"truncated (" + std::to_string(size_) + " bytes, the index reads past them)"};
    in_.read(static_cast<char*>(out), std::streamsize(n));
    if (!in_) throw Damaged{"read error"};
    pos_ += n;
  }
  // One trivially copyable value.
  template <class T>
  T value() {
    T v{};
    bytes(&v, sizeof v);
    return v;
  }
  // A u32 length and that many bytes.
  std::string text() {
    const uint32_t n = value<uint32_t>();
    if (n > size_ - pos_) throw Damaged{"truncated (a name runs past the end of the file)"};
    std::string s(n, '\0');
    bytes(s.data(), n);
    return s;
  }
  uint64_t pos() const { return pos_; }

 private:
  std::ifstream& in_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

// Appends the bytes of a trivially copyable value.
template <class T>
void put(std::ostream& out, const T& v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof v);
}

// Appends a u32 length and the string's bytes.
void put_text(std::ostream& out, const std::string& s) {
  put(out, uint32_t(s.size()));
  out.write(s.data(), std::streamsize(s.size()));
}

// Bytes of a cached clip (0 for a skipped file).
uint64_t clip_bytes(const ClipCacheEntry& e) {
  return e.error.empty() ? uint64_t(e.clip.numel()) : 0;
}

// The settings stored in a header, compared field by field with the wanted ones.
bool same_settings(const ClipCacheSettings& a, const ClipCacheSettings& b) {
  return a.size == b.size && a.frames == b.frames && a.color == b.color &&
         a.sampling == b.sampling && a.padding == b.padding;
}

// Reads the header, index and clips; throws Damaged for any defect.
ClipCacheContents read_checked(std::ifstream& in, uint64_t file_size,
                               const ClipCacheSettings& want) {
  ClipCacheContents out;
  CacheReader r(in, file_size);
  char magic[8];
  r.bytes(magic, 8);
  if (std::memcmp(magic, kMagic, 8) != 0) throw Damaged{"not a clip cache (bad magic)"};
  const uint32_t version = r.value<uint32_t>();
  if (version != kClipCacheVersion) {
    out.reason = "format version " + std::to_string(version) + ", this build writes " +
                 std::to_string(kClipCacheVersion);
    return out;
  }
  ClipCacheSettings got;
  got.size = r.value<int32_t>();
  got.frames = r.value<int64_t>();
  got.color = ColorMode(r.value<uint8_t>());
  got.sampling = FrameSampling(r.value<uint8_t>());
  got.padding = ShortClipPadding(r.value<uint8_t>());
  if (!same_settings(got, want)) {
    out.reason = "made with " + settings_str(got) + ", wanted " + settings_str(want);
    return out;
  }
  const uint64_t count = r.value<uint64_t>();
  if (count > file_size) throw Damaged{"malformed index (" + std::to_string(count) + " entries)"};
  std::vector<uint64_t> offsets;
  std::vector<Shape> shapes;
  for (uint64_t i = 0; i < count; ++i) {
    ClipCacheEntry e;
    e.path = r.text();
    e.frame_start = r.value<int64_t>();
    e.frame_end = r.value<int64_t>();
    e.stamp.size = r.value<uint64_t>();
    e.stamp.mtime_ns = r.value<int64_t>();
    e.label = r.value<int64_t>();
    e.length = r.value<int64_t>();
    e.error = r.text();
    Shape shape(4);
    for (int64_t& d : shape) d = r.value<int64_t>();
    offsets.push_back(r.value<uint64_t>());
    uint64_t n = 1;
    for (int64_t d : shape) {
      if (d < 0 || uint64_t(d) > file_size) throw Damaged{"malformed index (clip shape)"};
      n *= uint64_t(d);
      if (n > file_size) throw Damaged{"truncated (a clip is larger than the file)"};
    }
    if (e.error.empty() && n == 0) throw Damaged{"malformed index (an empty clip)"};
    if (e.length != -1 && (!e.error.empty() || e.length < 1 || e.length > shape[0]))
      throw Damaged{"malformed index (clip length " + std::to_string(e.length) + ")"};
    shapes.push_back(shape);
    out.entries.push_back(std::move(e));
  }
  const uint64_t data_start = r.pos();
  uint64_t expected = data_start + sizeof kTrailer;
  for (size_t i = 0; i < out.entries.size(); ++i) {
    const Shape& s = shapes[i];
    const uint64_t n = out.entries[i].error.empty() ? uint64_t(s[0] * s[1] * s[2] * s[3]) : 0;
    if (offsets[i] != expected - data_start - sizeof kTrailer)
      throw Damaged{"malformed index (clip offsets)"};
    expected += n;
  }
  if (expected != file_size)
    throw Damaged{"truncated or padded (" + std::to_string(file_size) + " bytes, the index says " +
                  std::to_string(expected) + ")"};
  for (size_t i = 0; i < out.entries.size(); ++i) {
    ClipCacheEntry& e = out.entries[i];
    if (!e.error.empty()) continue;
    e.clip = empty(shapes[i], DType::u8);
    r.bytes(e.clip.raw_data(), uint64_t(e.clip.numel()));
  }
  char trailer[8];
  r.bytes(trailer, 8);
  if (std::memcmp(trailer, kTrailer, 8) != 0) throw Damaged{"bad end marker"};
  out.usable = true;
  return out;
}

}  // namespace

std::string settings_str(const ClipCacheSettings& s) {
  std::ostringstream o;
  o << "size " << s.size << ", " << s.frames << " frames, "
    << (s.color == ColorMode::rgb ? "rgb" : "gray") << ", " << frame_sampling_name(s.sampling)
    << ", " << short_clip_padding_name(s.padding);
  return o.str();
}

bool file_stamp(const std::string& path, FileStamp* stamp) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return false;
  const fs::file_time_type t = fs::last_write_time(path, ec);
  if (ec) return false;
  stamp->size = uint64_t(size);
  stamp->mtime_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return true;
}

ClipCacheContents read_clip_cache(const std::string& path, const ClipCacheSettings& settings) {
  ClipCacheContents out;
  FileStamp stamp;
  if (!file_stamp(path, &stamp)) return out;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.reason = "cannot open";
    return out;
  }
  try {
    return read_checked(in, stamp.size, settings);
  } catch (const Damaged& d) {
    out.reason = d.why;
  } catch (const std::bad_alloc&) {
    out.reason = "malformed index (too large to allocate)";
  }
  return out;
}

void write_clip_cache(const std::string& path, const ClipCacheSettings& settings,
                      const std::vector<ClipCacheEntry>& entries) {
  for (const ClipCacheEntry& e : entries)
    SIGNET_CHECK(!e.error.empty() || (e.clip.defined() && e.clip.dim() == 4 &&
                                      e.clip.dtype() == DType::u8 && e.clip.numel() > 0),
                 "write_clip_cache: ", path, ": the clip of ", e.path,
                 " must be a non-empty u8 (T, H, W, C) tensor");
  for (const ClipCacheEntry& e : entries)
    SIGNET_CHECK(e.length == -1 || (e.error.empty() && e.length >= 1 && e.length <= e.clip.size(0)),
                 "write_clip_cache: ", path, ": the clip of ", e.path, " has length ", e.length,
                 " (-1, or 1 .. its frames for a decoded clip)");
  io::write_file_atomically(path, [&](std::ostream& out) {
    out.write(kMagic, 8);
    put(out, kClipCacheVersion);
    put(out, int32_t(settings.size));
    put(out, int64_t(settings.frames));
    put(out, uint8_t(settings.color));
    put(out, uint8_t(settings.sampling));
    put(out, uint8_t(settings.padding));
    put(out, uint64_t(entries.size()));
    uint64_t offset = 0;
    for (const ClipCacheEntry& e : entries) {
      put_text(out, e.path);
      put(out, int64_t(e.frame_start));
      put(out, int64_t(e.frame_end));
      put(out, uint64_t(e.stamp.size));
      put(out, int64_t(e.stamp.mtime_ns));
      put(out, int64_t(e.label));
      put(out, int64_t(e.length));
      put_text(out, e.error);
      for (int d = 0; d < 4; ++d) put(out, int64_t(e.error.empty() ? e.clip.size(d) : 0));
      put(out, offset);
      offset += clip_bytes(e);
    }
    for (const ClipCacheEntry& e : entries) {
      if (!e.error.empty()) continue;
      const Tensor c = e.clip.contiguous();
      out.write(static_cast<const char*>(c.raw_data()), std::streamsize(c.numel()));
    }
    out.write(kTrailer, 8);
  });
}

}  // namespace signet::media
