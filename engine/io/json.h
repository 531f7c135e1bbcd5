// A small JSON reader and writer for the safetensors header and data-set manifests: objects
// keep their member order, integers without '.' or exponent are kept exactly as int64.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace signet::io {

// One JSON value.
struct Json {
  enum class Kind { null, boolean, number, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  double number = 0.0;
  bool is_integer = false;  // the literal was an integer that fits int64 (then `integer` holds it)
  int64_t integer = 0;
  std::string str;
  std::vector<Json> items;                            // array elements
  std::vector<std::pair<std::string, Json>> members;  // object members in file order

  static Json of(int64_t v);
  static Json of(double v);
  static Json of(std::string v);
  static Json of(const char* v) { return of(std::string(v)); }
  static Json array();
  static Json object();
  // The member named key, or nullptr (objects only).
  const Json* find(const std::string& key) const;
  // Appends a member to an object; returns *this.
  Json& set(const std::string& key, Json value);
};

// Parses text (one value, surrounding spaces allowed); throws signet::Error starting with
// `context` and naming the byte position and the problem. Duplicate keys are refused.
Json parse_json(const std::string& text, const std::string& context);
// Compact JSON text of v (indent > 0: members and items on their own lines).
std::string dump_json(const Json& v, int indent = 0);

}  // namespace signet::io
