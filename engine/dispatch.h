// The one dispatch point: every op maps (device, dtype, problem) to a named implementation.
// Implementations are listed fastest first; the first whose device, dtype and selection rule
// fit runs. SIGNET_IMPL_<op>=<name> forces one (an unknown name is an error listing the known
// ones); SIGNET_PROFILE=1 counts and times each (op, implementation) and prints at exit.
#pragma once
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "engine/dtype.h"
#include "engine/error.h"

namespace signet::dispatch {

// The base of every op's registry entry: name and implementation names, for listing/forcing.
class OpBase {
 public:
  OpBase(std::string name, std::vector<std::string> impl_names);
  const std::string& name() const { return name_; }
  const std::vector<std::string>& impl_names() const { return impl_names_; }
  // The name forced by SIGNET_IMPL_<op> ("" when none); throws when it names no implementation.
  std::string forced() const;
  // Every op constructed so far (ops register on first use).
  static std::vector<const OpBase*> all();

 private:
  std::string name_;
  std::vector<std::string> impl_names_;
};

// A problem descriptor for ops whose selection needs no shape information.
struct NoDesc {};

// One named implementation: a device, one function per dtype, and an optional rule.
template <class Fn, class Desc = NoDesc>
struct Impl {
  std::string name;
  Device::Type device = Device::Type::cpu;
  std::vector<std::pair<DType, Fn>> fns;
  bool (*applies)(const Desc&) = nullptr;  // the selection rule (null: any shape)
};

// What select() chose: the op, the implementation name and the function to call.
template <class Fn>
struct Selected {
  const OpBase* op;
  const std::string* impl;
  Fn fn;
};

// Times one kernel call under (op, implementation) while profiling is on.
class ProfileScope {
 public:
  ProfileScope(const OpBase* op, const std::string* impl);
  ~ProfileScope();
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  const OpBase* op_;
  const std::string* impl_;
  std::chrono::steady_clock::time_point start_;
  bool on_;
};

// True when SIGNET_PROFILE=1.
bool profiling();

// An op and its implementations.
template <class Fn, class Desc = NoDesc>
class Op : public OpBase {
 public:
  Op(std::string name, std::vector<Impl<Fn, Desc>> impls)
      : OpBase(std::move(name), names_of(impls)), impls_(std::move(impls)) {}

  // Picks the implementation for this device, dtype and problem (see the file comment).
  Selected<Fn> select(Device device, DType dtype, const Desc& desc = Desc()) const {
    std::string forced_name = forced();
    for (const auto& im : impls_) {
      if (!forced_name.empty() && im.name != forced_name) continue;
      bool fits_device = im.device == device.type;
      const Fn* fn = find(im, dtype);
      if (!forced_name.empty()) {
        SIGNET_CHECK(fits_device && fn, "SIGNET_IMPL_", name(), "=", forced_name,
                     ": that implementation does not run on ", device.str(), " with dtype ",
                     dtype_name(dtype), " (", describe(), ")");
        return {this, &im.name, *fn};
      }
      if (fits_device && fn && (!im.applies || im.applies(desc))) return {this, &im.name, *fn};
    }
    SIGNET_FAIL(name(), ": no implementation for device ", device.str(), " and dtype ",
                dtype_name(dtype), " (", describe(), ")");
  }

  // Selects and calls in one step, under a ProfileScope.
  template <class... Args>
  void run(Device device, DType dtype, const Desc& desc, Args&&... args) const {
    Selected<Fn> s = select(device, dtype, desc);
    ProfileScope scope(s.op, s.impl);
    s.fn(std::forward<Args>(args)...);
  }

 private:
  static std::vector<std::string> names_of(const std::vector<Impl<Fn, Desc>>& impls) {
    std::vector<std::string> out;
    for (const auto& im : impls) out.push_back(im.name);
    return out;
  }
  static const Fn* find(const Impl<Fn, Desc>& im, DType dtype) {
    for (const auto& p : im.fns)
      if (p.first == dtype) return &p.second;
    return nullptr;
  }
  // "known: v1_reference (cpu: f32 f64)" for messages.
  std::string describe() const {
    std::string s = "known:";
    for (const auto& im : impls_) {
      s += " " + im.name + " (" + (im.device == Device::Type::cpu ? "cpu" : "cuda") + ":";
      for (const auto& p : im.fns) s += std::string(" ") + dtype_name(p.first);
      s += ")";
    }
    return s;
  }

  std::vector<Impl<Fn, Desc>> impls_;
};

}  // namespace signet::dispatch
