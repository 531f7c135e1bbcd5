#include "engine/io/json.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

#include "engine/error.h"

namespace signet::io {
namespace {

// Deepest nesting accepted, so hostile input cannot exhaust the stack.
constexpr int kMaxDepth = 64;

// Recursive-descent parser over the text.
struct Parser {
  const std::string& text;
  const std::string& context;
  size_t pos = 0;

  [[noreturn]] void fail(const std::string& what) const {
    SIGNET_FAIL(context, ": bad JSON at byte ", pos, ": ", what);
  }
  // Skips JSON whitespace.
  void skip() {
    while (pos < text.size() &&
           (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }
  // The next character after spaces (fails at the end of the text).
  char peek() {
    skip();
    if (pos >= text.size()) fail("unexpected end of text");
    return text[pos];
  }
  // Consumes the literal word or fails.
  void word(const char* w) {
    const std::string s(w);
    if (text.compare(pos, s.size(), s) != 0)
      fail("unexpected character '" + text.substr(pos, 1) + "'");
    pos += s.size();
  }
  // Four hex digits of a \u escape.
  uint32_t hex4() {
    if (pos + 4 > text.size()) fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text[pos++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= uint32_t(c - 'A' + 10);
      else
        fail("bad hex digit in \\u escape");
    }
    return v;
  }
  // Appends code point cp as UTF-8.
  static void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xc0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += char(0xe0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3f));
      out += char(0x80 | (cp & 0x3f));
    } else {
      out += char(0xf0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3f));
      out += char(0x80 | ((cp >> 6) & 0x3f));
      out += char(0x80 | (cp & 0x3f));
    }
  }
  // A string literal with escapes (the opening quote is next).
  std::string string() {
    ++pos;
    std::string out;
    for (;;) {
      if (pos >= text.size()) fail("unterminated string");
      const char c = text[pos++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos >= text.size()) fail("unterminated string");
      const char e = text[pos++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xd800 && cp < 0xdc00) {
            if (text.compare(pos, 2, "\\u") != 0) fail("unpaired surrogate in \\u escape");
            pos += 2;
            const uint32_t lo = hex4();
            if (lo < 0xdc00 || lo >= 0xe000) fail("bad low surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp < 0xe000) {
            fail("unpaired surrogate in \\u escape");
          }
          put_utf8(out, cp);
          break;
        }
        default:
          fail(std::string("bad escape '\\") + e + "'");
      }
    }
  }
  // A number literal: exact int64 when integral and in range, double otherwise.
  Json number() {
    const size_t start = pos;
    if (text[pos] == '-') ++pos;
    auto digits = [&] {
      const size_t d = pos;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
      if (pos == d) fail("expected a digit");
    };
    if (pos < text.size() && text[pos] == '0')
      ++pos;
    else
      digits();
    bool integral = true;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      digits();
      integral = false;
    }
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
      ++pos;
      if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) ++pos;
      digits();
      integral = false;
    }
    const std::string lit = text.substr(start, pos - start);
    Json v;
    v.kind = Json::Kind::number;
    v.number = std::strtod(lit.c_str(), nullptr);
    if (integral) {
      errno = 0;
      const long long i = std::strtoll(lit.c_str(), nullptr, 10);
      if (errno == 0) {
        v.is_integer = true;
        v.integer = i;
      }
    }
    return v;
  }
  // Any value at nesting depth `depth`.
  Json value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth));
    const char c = peek();
    Json v;
    if (c == '{') {
      ++pos;
      v.kind = Json::Kind::object;
      std::set<std::string> seen;
      if (peek() == '}') {
        ++pos;
        return v;
      }
      for (;;) {
        if (peek() != '"') fail("expected a member name");
        std::string key = string();
        if (!seen.insert(key).second) fail("duplicate key \"" + key + "\"");
        if (peek() != ':') fail("expected ':'");
        ++pos;
        v.members.emplace_back(std::move(key), value(depth + 1));
        const char n = peek();
        ++pos;
        if (n == '}') return v;
        if (n != ',') fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      ++pos;
      v.kind = Json::Kind::array;
      if (peek() == ']') {
        ++pos;
        return v;
      }
      for (;;) {
        v.items.push_back(value(depth + 1));
        const char n = peek();
        ++pos;
        if (n == ']') return v;
        if (n != ',') fail("expected ',' or ']'");
      }
    }
    if (c == '"') {
      v.kind = Json::Kind::string;
      v.str = string();
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    if (c == 't' || c == 'f') {
      word(c == 't' ? "true" : "false");
      v.kind = Json::Kind::boolean;
      v.boolean = c == 't';
      return v;
    }
    word("null");
    return v;
  }
};

// Appends s as a quoted JSON string.
void dump_string(std::string& out, const std::string& s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// Appends v; indent > 0 puts each member or item on its own line at depth * indent spaces.
void dump(std::string& out, const Json& v, int indent, int depth) {
  const auto newline = [&](int d) {
    if (indent > 0) out += '\n' + std::string(size_t(indent * d), ' ');
  };
  switch (v.kind) {
    case Json::Kind::null:
      out += "null";
      return;
    case Json::Kind::boolean:
      out += v.boolean ? "true" : "false";
      return;
    case Json::Kind::number:
      if (v.is_integer) {
        out += std::to_string(v.integer);
      } else {
        SIGNET_CHECK(std::isfinite(v.number), "dump_json: ", v.number, " has no JSON form");
        std::ostringstream s;
        s.precision(17);
        s << v.number;
        out += s.str();
      }
      return;
    case Json::Kind::string:
      dump_string(out, v.str);
      return;
    case Json::Kind::array:
      out += '[';
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i > 0) out += ',';
        newline(depth + 1);
        dump(out, v.items[i], indent, depth + 1);
      }
      if (!v.items.empty()) newline(depth);
      out += ']';
      return;
    case Json::Kind::object:
      out += '{';
      for (size_t i = 0; i < v.members.size(); ++i) {
        if (i > 0) out += ',';
        newline(depth + 1);
        dump_string(out, v.members[i].first);
        out += indent > 0 ? ": " : ":";
        dump(out, v.members[i].second, indent, depth + 1);
      }
      if (!v.members.empty()) newline(depth);
      out += '}';
      return;
  }
}

}  // namespace

Json Json::of(int64_t v) {
  Json j;
  j.kind = Kind::number;
  j.is_integer = true;
  j.integer = v;
  j.number = double(v);
  return j;
}

Json Json::of(double v) {
  Json j;
  j.kind = Kind::number;
  j.number = v;
  return j;
}

Json Json::of(std::string v) {
  Json j;
  j.kind = Kind::string;
  j.str = std::move(v);
  return j;
}

Json Json::array() {
  Json j;
  j.kind = Kind::array;
  return j;
}

Json Json::object() {
  Json j;
  j.kind = Kind::object;
  return j;
}

const Json* Json::find(const std::string& key) const {
  for (const auto& m : members)
    if (m.first == key) return &m.second;
  return nullptr;
}

Json& Json::set(const std::string& key, Json value) {
  members.emplace_back(key, std::move(value));
  return *this;
}

// Parses one value and refuses anything but spaces after it.
Json parse_json(const std::string& text, const std::string& context) {
  Parser p{text, context};
  Json v = p.value(0);
  p.skip();
  if (p.pos != text.size()) p.fail("unexpected text after the value");
  return v;
}

std::string dump_json(const Json& v, int indent) {
  std::string out;
  dump(out, v, indent, 0);
  return out;
}

}  // namespace signet::io
