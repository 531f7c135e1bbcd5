#include "tools/media/formats/wlasl.h"

#include <algorithm>
#include <filesystem>

#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/json.h"

namespace signet::media {
namespace {

namespace fs = std::filesystem;

// Throws signet::Error naming the file, the gloss and (when > 0) the instance, 1-based.
[[noreturn]] void entry_error(const std::string& file, size_t gloss, size_t instance,
                              const std::string& message) {
  std::string where = file + ": gloss " + std::to_string(gloss + 1);
  if (instance > 0) where += ", instance " + std::to_string(instance);
  throw Error(where + ": " + message);
}

// The integer member key of an instance, or fallback when absent.
int64_t integer_member(const io::Json& obj, const std::string& key, int64_t fallback,
                       const std::string& file, size_t gloss, size_t instance) {
  const io::Json* v = obj.find(key);
  if (!v) return fallback;
  if (v->kind != io::Json::Kind::number || !v->is_integer)
    entry_error(file, gloss, instance, key + " is not an integer");
  return v->integer;
}

}  // namespace

WlaslOptions wlasl_layout(const std::string& root, int64_t top_k) {
  WlaslOptions o;
  o.json = root + "/WLASL_v0.3.json";
  if (!fs::is_regular_file(o.json) && fs::is_directory(root)) {
    std::vector<std::string> found;
    for (auto& e : fs::directory_iterator(root)) {
      std::string name = e.path().filename().string();
      if (name.rfind("WLASL_v", 0) == 0 && e.path().extension() == ".json")
        found.push_back(e.path().string());
    }
    std::sort(found.begin(), found.end());
    if (!found.empty()) o.json = found.back();
  }
  o.videos = root + "/videos";
  o.top_k = top_k;
  return o;
}

LabelledList read_wlasl(const WlaslOptions& options, const std::string& split) {
  SIGNET_CHECK(options.top_k >= 0, "WLASL: top_k must be >= 0, got ", options.top_k);
  const std::string& file = options.json;
  SIGNET_CHECK(fs::is_regular_file(file), file, ": no such file (WLASL_v0.3.json)");
  const std::vector<char> bytes = io::read_file_bytes(file);
  io::Json root = io::parse_json(std::string(bytes.begin(), bytes.end()), file);
  SIGNET_CHECK(root.kind == io::Json::Kind::array, file, ": expected a list of glosses");
  size_t glosses = root.items.size();
  if (options.top_k > 0) {
    SIGNET_CHECK(size_t(options.top_k) <= glosses, file, ": top ", options.top_k,
                 " glosses asked, the file has ", glosses);
    glosses = size_t(options.top_k);
  }
  LabelledList list;
  for (size_t g = 0; g < glosses; ++g) {
    const io::Json& entry = root.items[g];
    const io::Json* gloss = entry.find("gloss");
    if (entry.kind != io::Json::Kind::object || !gloss || gloss->kind != io::Json::Kind::string)
      entry_error(file, g, 0, "expected {\"gloss\": \"...\", \"instances\": [...]}");
    list.class_names.push_back(gloss->str);
    const io::Json* instances = entry.find("instances");
    if (!instances || instances->kind != io::Json::Kind::array)
      entry_error(file, g, 0, "no instances list");
    for (size_t k = 0; k < instances->items.size(); ++k) {
      const io::Json& inst = instances->items[k];
      if (inst.kind != io::Json::Kind::object) entry_error(file, g, k + 1, "not an object");
      const io::Json* id = inst.find("video_id");
      const io::Json* sp = inst.find("split");
      if (!id || id->kind != io::Json::Kind::string || id->str.empty())
        entry_error(file, g, k + 1, "no video_id string");
      if (!sp || sp->kind != io::Json::Kind::string) entry_error(file, g, k + 1, "no split");
      LabelledVideo v;
      v.path = options.videos + "/" + id->str + ".mp4";
      v.label = int64_t(g);
      v.frame_start = integer_member(inst, "frame_start", 1, file, g, k + 1);
      v.frame_end = integer_member(inst, "frame_end", -1, file, g, k + 1);
      if (v.frame_start < 1 || (v.frame_end != -1 && v.frame_end < v.frame_start))
        entry_error(file, g, k + 1,
                    "frame range [" + std::to_string(v.frame_start) + ", " +
                        std::to_string(v.frame_end) + "] is not 1-based with end -1 or >= start");
      if (sp->str != split) continue;
      if (!fs::is_regular_file(v.path)) {
        note_skipped(&list, v.path, "missing");
        continue;
      }
      list.samples.push_back(v);
    }
  }
  return list;
}

}  // namespace signet::media
