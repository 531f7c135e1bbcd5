// The kernel contract (DESIGN.md): CUDA kernel sources contain no raw inline PTX and no
// emulation #ifdefs; both belong in the wrappers (kernels/cuda/cuda_compat.h, ptx*.h) that have
// a GPU and a host form.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Blanks out comments and string literals, keeping newlines so line numbers stay right.
std::string code_only(const std::string& text) {
  std::string out = text;
  enum { kCode, kLine, kBlock, kString } state = kCode;
  for (size_t i = 0; i < out.size(); ++i) {
    const char c = out[i], next = i + 1 < out.size() ? out[i + 1] : '\0';
    if (state == kCode && c == '/' && next == '/')
      state = kLine;
    else if (state == kCode && c == '/' && next == '*')
      state = kBlock;
    else if (state == kCode && c == '"')
      state = kString;
    else if (state == kLine && c == '\n')
      state = kCode;
    else if (state == kBlock && c == '*' && next == '/') {
      out[i] = out[i + 1] = ' ';
      ++i;
      state = kCode;
      continue;
    } else if (state == kString && c == '\\') {
      out[i] = ' ';
      if (i + 1 < out.size() && out[i + 1] != '\n') out[++i] = ' ';
      continue;
    } else if (state == kString && c == '"') {
      out[i] = ' ';
      state = kCode;
      continue;
    }
    if (state != kCode && out[i] != '\n') out[i] = ' ';
  }
  return out;
}

// The identifiers of one line of code, in order.
std::vector<std::string> identifiers(const std::string& line) {
  std::vector<std::string> out;
  for (size_t i = 0; i < line.size();) {
    const auto word = [&](size_t k, bool first) {
      const char c = line[k];
      return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
             (!first && std::isdigit(static_cast<unsigned char>(c)));
    };
    if (!word(i, true)) {
      // Skip a number whole, so that 0x1f does not yield the identifier x1f.
      const bool number = std::isdigit(static_cast<unsigned char>(line[i]));
      ++i;
      while (number && i < line.size() && word(i, false)) ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < line.size() && word(j, false)) ++j;
    out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// "name:line: what" for each inline asm and each #if on the CUDA or simt build macros.
std::vector<std::string> lint(const std::string& name, const std::string& text) {
  const std::set<std::string> asm_words = {"asm", "__asm", "__asm__"};
  const std::set<std::string> conditionals = {"if", "ifdef", "ifndef", "elif"};
  const std::set<std::string> build_macros = {"__CUDA_ARCH__", "__CUDACC__", "SIGNET_CUDA_SIMT"};
  std::vector<std::string> found;
  std::istringstream lines(code_only(text));
  std::string line;
  for (int n = 1; std::getline(lines, line); ++n) {
    const std::vector<std::string> ids = identifiers(line);
    const size_t hash = line.find_first_not_of(" \t");
    const bool directive = hash != std::string::npos && line[hash] == '#' && !ids.empty() &&
                           conditionals.count(ids[0]);
    bool uses_asm = false, uses_macro = false;
    for (const std::string& id : ids) {
      uses_asm |= asm_words.count(id) > 0;
      uses_macro |= build_macros.count(id) > 0;
    }
    if (uses_asm) found.push_back(name + ":" + std::to_string(n) + ": inline asm");
    if (directive && uses_macro)
      found.push_back(name + ":" + std::to_string(n) + ": emulation #if");
  }
  return found;
}

// "name:line: ..." for each static __shared__ inside a template: GCC ignores the section
// attribute on static locals of templates, so simt could not NaN-fill them before each block
// (kernels/cuda/simt/README.md); templates take shared memory through SIGNET_DYNAMIC_SHARED.
std::vector<std::string> lint_template_shared(const std::string& name, const std::string& text) {
  std::vector<std::string> found;
  std::istringstream lines(code_only(text));
  std::string line;
  std::vector<bool> scopes;  // per open brace: inside a template's body
  bool pending = false;      // `template` seen, its body not opened yet
  for (int n = 1; std::getline(lines, line); ++n) {
    const std::vector<std::string> ids = identifiers(line);
    bool is_template = false, is_shared = false, is_extern = false;
    for (const std::string& id : ids) {
      is_template |= id == "template";
      is_shared |= id == "__shared__";
      is_extern |= id == "extern";
    }
    pending |= is_template;
    const bool inside = !scopes.empty() && scopes.back();
    if (inside && is_shared && !is_extern)
      found.push_back(name + ":" + std::to_string(n) + ": static __shared__ in a template");
    for (const char c : line) {
      if (c == '{') {
        scopes.push_back(pending || (!scopes.empty() && scopes.back()));
        pending = false;
      } else if (c == '}' && !scopes.empty()) {
        scopes.pop_back();
      } else if (c == ';' && (scopes.empty() || !scopes.back())) {
        pending = false;
      }
    }
  }
  return found;
}

TEST(SimtLint, CatchesStaticSharedInTemplates) {
  const std::string planted =
      "namespace n {\n"
      "template <int B>\n"
      "__global__ void k(float* x) {\n"
      "  __shared__ float tile[B];\n"
      "  SIGNET_DYNAMIC_SHARED(float, dyn);\n"
      "  extern __shared__ float ext[];\n"
      "}\n"
      "template <int B> void declared();\n"
      "__global__ void plain(float* x) {\n"
      "  __shared__ float tile[4];\n"
      "}\n"
      "}\n";
  EXPECT_EQ(lint_template_shared("k.cu", planted),
            (std::vector<std::string>{"k.cu:4: static __shared__ in a template"}));
}

TEST(SimtLint, CatchesPlantedViolations) {
  const std::string planted =
      "// asm in a comment is fine, and so is \"asm\" in a string\n"
      "__global__ void k(float* x) {\n"
      "  asm volatile(\"membar.gl;\");\n"
      "#ifdef __CUDA_ARCH__\n"
      "  x[0] = 1;\n"
      "#endif\n"
      "}\n";
  EXPECT_EQ(lint("k.cu", planted),
            (std::vector<std::string>{"k.cu:3: inline asm", "k.cu:4: emulation #if"}));
}

TEST(SimtLint, KernelSourcesHaveNoAsmOrEmulationIfdefs) {
  const fs::path dir = fs::path(__FILE__).parent_path().parent_path() / "kernels" / "cuda";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  int checked = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    const std::string ext = e.path().extension().string();
    if (!e.is_regular_file() || (ext != ".cu" && ext != ".h")) continue;
    if (name == "cuda_compat.h" || name.rfind("ptx", 0) == 0) continue;  // the wrappers
    std::ifstream in(e.path());
    std::stringstream text;
    text << in.rdbuf();
    for (const std::string& v : lint(name, text.str())) ADD_FAILURE() << v;
    for (const std::string& v : lint_template_shared(name, text.str())) ADD_FAILURE() << v;
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

}  // namespace
