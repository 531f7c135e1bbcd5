#include "engine/dispatch.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

namespace signet::dispatch {
namespace {

// Registry of ops, in construction order.
struct Registry {
  std::mutex mu;
  std::vector<const OpBase*> ops;
};

Registry& registry() {
  static Registry* r = new Registry;  // leaked on purpose: ops outlive static destruction
  return *r;
}

// Accumulated profile: calls and nanoseconds per (op, implementation).
struct Profile {
  std::mutex mu;
  std::map<std::pair<std::string, std::string>, std::pair<uint64_t, double>> rows;
};

Profile& profile() {
  static Profile* p = new Profile;  // leaked on purpose: printed by an atexit handler
  return *p;
}

// Prints the profile table to stderr, slowest total first.
void print_profile() {
  Profile& p = profile();
  std::lock_guard<std::mutex> lock(p.mu);
  std::vector<std::pair<std::pair<std::string, std::string>, std::pair<uint64_t, double>>> rows(
      p.rows.begin(), p.rows.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
  std::fprintf(stderr, "SIGNET_PROFILE: %-22s %-18s %10s %12s %12s\n", "op", "implementation",
               "calls", "total ms", "mean us");
  for (const auto& r : rows)
    std::fprintf(stderr, "SIGNET_PROFILE: %-22s %-18s %10llu %12.3f %12.3f\n",
                 r.first.first.c_str(), r.first.second.c_str(),
                 static_cast<unsigned long long>(r.second.first), r.second.second * 1e-6,
                 r.second.second * 1e-3 / static_cast<double>(r.second.first));
}

}  // namespace

OpBase::OpBase(std::string name, std::vector<std::string> impl_names)
    : name_(std::move(name)), impl_names_(std::move(impl_names)) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.ops.push_back(this);
}

std::string OpBase::forced() const {
  std::string var = "SIGNET_IMPL_" + name_;
  const char* v = std::getenv(var.c_str());
  if (!v || !*v) return "";
  std::string forced_name = v;
  if (std::find(impl_names_.begin(), impl_names_.end(), forced_name) != impl_names_.end())
    return forced_name;
  std::string known;
  for (const auto& n : impl_names_) known += " " + n;
  SIGNET_FAIL(var, "=", forced_name, ": op '", name_, "' has no implementation named '",
              forced_name, "'; known:", known);
}

std::vector<const OpBase*> OpBase::all() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.ops;
}

bool profiling() {
  static const bool on = [] {
    const char* v = std::getenv("SIGNET_PROFILE");
    bool enabled = v && std::string(v) == "1";
    if (enabled) std::atexit(print_profile);
    return enabled;
  }();
  return on;
}

ProfileScope::ProfileScope(const OpBase* op, const std::string* impl)
    : op_(op), impl_(impl), on_(profiling()) {
  if (on_) start_ = std::chrono::steady_clock::now();
}

ProfileScope::~ProfileScope() {
  if (!on_) return;
  double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start_).count();
  Profile& p = profile();
  std::lock_guard<std::mutex> lock(p.mu);
  auto& row = p.rows[{op_->name(), *impl_}];
  row.first += 1;
  row.second += ns;
}

}  // namespace signet::dispatch
