#include "engine/io/safetensors.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/json.h"

namespace signet::io {
namespace {

// Largest header accepted (the reference implementation's limit).
constexpr uint64_t kMaxHeader = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";

// The safetensors name of a dtype.
const char* st_name(DType t) {
  switch (t) {
    case DType::f32:
      return "F32";
    case DType::f64:
      return "F64";
    case DType::i64:
      return "I64";
    case DType::u8:
      return "U8";
    case DType::bf16:
      return "BF16";
  }
  return "";
}

// The dtype of a safetensors name; throws naming the file and tensor for the others.
DType dtype_of_name(const std::string& path, const std::string& tensor, const std::string& n) {
  for (DType t : {DType::f32, DType::f64, DType::i64, DType::u8, DType::bf16})
    if (n == st_name(t)) return t;
  SIGNET_FAIL(path, ": tensor '", tensor, "' has dtype ", n,
              ", which is not supported (supported: F32, F64, I64, U8, BF16)");
}

// A non-negative integer member of a JSON value, or a failure naming the tensor.
int64_t non_negative(const std::string& path, const std::string& tensor, const Json& v,
                     const char* what) {
  SIGNET_CHECK(v.kind == Json::Kind::number && v.is_integer && v.integer >= 0, path,
               ": bad header: tensor '", tensor, "': ", what, " must be non-negative integers");
  return v.integer;
}

// Where one tensor's bytes lie in the data section.
struct Range {
  uint64_t begin, end;
  std::string name;
};

// Reads one tensor entry of the header, copies its bytes out of data[0, data_size) and
// records the byte range of a non-empty one.
Tensor read_entry(const std::string& path, const std::string& name, const Json& e, const char* data,
                  uint64_t data_size, std::vector<Range>& ranges) {
  SIGNET_CHECK(e.kind == Json::Kind::object, path, ": bad header: entry '", name,
               "' is not an object");
  const Json* dtype = e.find("dtype");
  const Json* shape = e.find("shape");
  const Json* offsets = e.find("data_offsets");
  SIGNET_CHECK(dtype && shape && offsets, path, ": bad header: tensor '", name,
               "' needs dtype, shape and data_offsets");
  SIGNET_CHECK(dtype->kind == Json::Kind::string, path, ": bad header: tensor '", name,
               "': dtype is not a string");
  const DType t = dtype_of_name(path, name, dtype->str);
  SIGNET_CHECK(shape->kind == Json::Kind::array, path, ": bad header: tensor '", name,
               "': shape is not a list");
  Shape s;
  uint64_t numel = 1;
  for (const Json& d : shape->items) {
    s.push_back(non_negative(path, name, d, "shape sizes"));
    SIGNET_CHECK(s.back() == 0 || numel <= (uint64_t(1) << 62) / uint64_t(s.back()), path,
                 ": bad header: tensor '", name, "': shape is too large");
    numel *= uint64_t(s.back());
  }
  SIGNET_CHECK(offsets->kind == Json::Kind::array && offsets->items.size() == 2, path,
               ": bad header: tensor '", name, "': data_offsets must be [begin, end]");
  const uint64_t begin = uint64_t(non_negative(path, name, offsets->items[0], "data_offsets"));
  const uint64_t end = uint64_t(non_negative(path, name, offsets->items[1], "data_offsets"));
  SIGNET_CHECK(begin <= end && end <= data_size, path, ": tensor '", name, "': data_offsets [",
               begin, ", ", end, "] fall outside the ", data_size, " data bytes (truncated file?)");
  const uint64_t nbytes = numel * dtype_size(t);
  SIGNET_CHECK(end - begin == nbytes, path, ": tensor '", name, "': data_offsets [", begin, ", ",
               end, "] hold ", end - begin, " bytes, shape ", shape_str(s), " of ", st_name(t),
               " needs ", nbytes);
  Tensor out = empty(s, t);
  if (nbytes > 0) std::memcpy(out.raw_data(), data + begin, nbytes);
  if (end > begin) ranges.push_back({begin, end, name});
  return out;
}

}  // namespace

// Reads the header length and JSON, then each entry; refuses overlapping data.
SafetensorsData read_safetensors(const std::string& path) {
  const std::vector<char> bytes = read_file_bytes(path);
  SIGNET_CHECK(bytes.size() >= 8, path, ": truncated file (", bytes.size(),
               " bytes, the header length alone takes 8)");
  uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i)
    header_len |= uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
  SIGNET_CHECK(header_len <= kMaxHeader, path, ": bad header: length ", header_len,
               " is larger than ", kMaxHeader, " (not a safetensors file?)");
  SIGNET_CHECK(header_len <= bytes.size() - 8, path, ": truncated file (header of ", header_len,
               " bytes announced, ", bytes.size() - 8, " present)");
  const std::string text(bytes.data() + 8, header_len);
  const Json header = parse_json(text, path + ": header");
  SIGNET_CHECK(header.kind == Json::Kind::object, path, ": bad header: not a JSON object");

  const char* data = bytes.data() + 8 + header_len;
  const uint64_t data_size = bytes.size() - 8 - header_len;
  SafetensorsData out;
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.members) {
    if (name == kMetadataKey) {
      SIGNET_CHECK(entry.kind == Json::Kind::object, path, ": bad header: ", kMetadataKey,
                   " is not an object");
      for (const auto& [key, value] : entry.members) {
        SIGNET_CHECK(value.kind == Json::Kind::string, path, ": bad header: ", kMetadataKey,
                     " value of '", key, "' is not a string");
        out.metadata[key] = value.str;
      }
      continue;
    }
    out.tensors.emplace(name, read_entry(path, name, entry, data, data_size, ranges));
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i)
    SIGNET_CHECK(ranges[i].begin >= ranges[i - 1].end, path, ": bad header: the data of '",
                 ranges[i - 1].name, "' and '", ranges[i].name, "' overlap");
  return out;
}

// Lays the tensors out back to back, pads the header with spaces to 8 bytes, writes.
void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) {
    Json meta = Json::object();
    for (const auto& [key, value] : metadata) meta.set(key, Json::of(value));
    header.set(kMetadataKey, std::move(meta));
  }
  // Widest elements first, then by name (as safetensors' own writer), so every tensor's data
  // starts aligned to its element size.
  std::vector<std::pair<std::string, Tensor>> sorted(tensors.begin(), tensors.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return dtype_size(a.second.dtype()) > dtype_size(b.second.dtype());
  });
  std::vector<Tensor> parts;
  int64_t offset = 0;
  for (const auto& [name, t] : sorted) {
    SIGNET_CHECK(name != kMetadataKey, path, ": '", kMetadataKey, "' is not a tensor name");
    SIGNET_CHECK(t.defined(), path, ": tensor '", name, "' is undefined");
    SIGNET_CHECK(t.device().is_cpu(), path, ": tensor '", name, "' is on ", t.device().str(),
                 "; write_safetensors needs CPU tensors");
    parts.push_back(t.detach().contiguous());
    Json shape = Json::array();
    for (int64_t s : t.shape()) shape.items.push_back(Json::of(s));
    const int64_t nbytes = t.numel() * int64_t(dtype_size(t.dtype()));
    Json offsets = Json::array();
    offsets.items = {Json::of(offset), Json::of(offset + nbytes)};
    Json entry = Json::object();
    entry.set("dtype", Json::of(st_name(t.dtype())));
    entry.set("shape", std::move(shape));
    entry.set("data_offsets", std::move(offsets));
    header.set(name, std::move(entry));
    offset += nbytes;
  }
  std::string text = dump_json(header);
  text.append((8 - text.size() % 8) % 8, ' ');
  write_file_atomically(path, [&](std::ostream& out) {
    char len[8];
    for (int i = 0; i < 8; ++i) len[i] = char((uint64_t(text.size()) >> (8 * i)) & 0xff);
    out.write(len, 8);
    out.write(text.data(), std::streamsize(text.size()));
    for (const Tensor& t : parts) {
      const size_t nbytes = size_t(t.numel()) * dtype_size(t.dtype());
      if (nbytes > 0) out.write(static_cast<const char*>(t.raw_data()), std::streamsize(nbytes));
    }
  });
}

}  // namespace signet::io
