#include "engine/optim/optimizer.h"

#include <set>

#include "engine/autograd.h"

namespace signet::optim {

ParamGroup group_of(const nn::Module& m) {
  return ParamGroup{m.named_parameters(), {}, {}, false};
}

Optimizer::Optimizer(const char* name, std::vector<ParamGroup> groups, double lr,
                     double weight_decay)
    : name_(name) {
  SIGNET_CHECK(lr >= 0, name, ": learning rate must be >= 0, got ", lr);
  SIGNET_CHECK(weight_decay >= 0, name, ": weight decay must be >= 0, got ", weight_decay);
  std::set<std::string> names;
  std::set<const TensorImpl*> tensors;
  for (size_t i = 0; i < groups.size(); ++i) {
    ParamGroup& pg = groups[i];
    Group g{std::move(pg.params), pg.lr.value_or(lr), pg.weight_decay.value_or(weight_decay),
            pg.frozen};
    SIGNET_CHECK(g.lr >= 0 && g.weight_decay >= 0, name, ": group ", i,
                 " has a negative lr or weight decay (", g.lr, ", ", g.weight_decay, ")");
    for (const auto& [pname, p] : g.params) {
      check_defined(name, p);
      check_dtype(name, p, {DType::f32, DType::f64});
      SIGNET_CHECK(p.is_contiguous(), name, ": parameter '", pname, "' of shape ",
                   shape_str(p.shape()), " is not contiguous");
      SIGNET_CHECK(names.insert(pname).second, name, ": parameter name '", pname,
                   "' appears twice");
      SIGNET_CHECK(tensors.insert(&p.impl()).second, name, ": parameter '", pname,
                   "' is the same tensor as another parameter");
    }
    groups_.push_back(std::move(g));
  }
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (const Group& g : groups_) {
    if (g.frozen) continue;
    for (const auto& [pname, p] : g.params) {
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      SIGNET_CHECK(grad.shape() == p.shape() && grad.dtype() == p.dtype(), name_, ": gradient of '",
                   pname, "' is ", dtype_name(grad.dtype()), " ", shape_str(grad.shape()),
                   " but the parameter is ", dtype_name(p.dtype()), " ", shape_str(p.shape()));
      SIGNET_CHECK(grad.device() == p.device(), name_, ": gradient of '", pname, "' is on ",
                   grad.device().str(), " but the parameter on ", p.device().str());
      ParamState& s = state_[pname];
      ++s.step;
      update(g, p, grad.contiguous(), s);
      p.storage()->bump_version();
    }
  }
}

void Optimizer::zero_grad() const {
  for (const Group& g : groups_)
    for (const auto& np : g.params) np.second.zero_grad();
}

const ParamState* Optimizer::state(const std::string& param) const {
  auto it = state_.find(param);
  return it == state_.end() ? nullptr : &it->second;
}

std::map<std::string, Tensor> Optimizer::state_dict() const {
  std::map<std::string, Tensor> sd;
  for (const auto& [pname, s] : state_) {
    sd["state." + pname + ".step"] = full({}, static_cast<double>(s.step), DType::i64);
    for (const auto& [bname, b] : s.buffers) sd["state." + pname + "." + bname] = b.clone();
  }
  for (size_t i = 0; i < groups_.size(); ++i) {
    const std::string prefix = "param_groups." + std::to_string(i) + ".";
    sd[prefix + "lr"] = scalar_tensor(groups_[i].lr, DType::f64);
    sd[prefix + "weight_decay"] = scalar_tensor(groups_[i].weight_decay, DType::f64);
  }
  return sd;
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& sd) {
  std::set<std::string> used;
  // The value under key, or throws naming it.
  auto take = [&](const std::string& key) -> const Tensor& {
    auto it = sd.find(key);
    SIGNET_CHECK(it != sd.end(), name_, ".load_state_dict: missing '", key, "'");
    used.insert(key);
    return it->second;
  };
  std::vector<Group> groups = groups_;
  for (size_t i = 0; i < groups.size(); ++i) {
    const std::string prefix = "param_groups." + std::to_string(i) + ".";
    groups[i].lr = take(prefix + "lr").item();
    groups[i].weight_decay = take(prefix + "weight_decay").item();
  }
  std::map<std::string, ParamState> state;
  for (const Group& g : groups) {
    for (const auto& [pname, p] : g.params) {
      const std::string prefix = "state." + pname + ".";
      if (!sd.count(prefix + "step")) continue;
      ParamState s;
      s.step = static_cast<int64_t>(take(prefix + "step").item());
      for (const std::string& bname : buffer_names()) {
        if (!sd.count(prefix + bname)) continue;
        const Tensor& b = take(prefix + bname);
        SIGNET_CHECK(b.shape() == p.shape() && b.dtype() == p.dtype(), name_, ".load_state_dict: '",
                     prefix + bname, "' is ", dtype_name(b.dtype()), " ", shape_str(b.shape()),
                     " but the parameter is ", dtype_name(p.dtype()), " ", shape_str(p.shape()));
        s.buffers[bname] = b.clone();
      }
      state[pname] = std::move(s);
    }
  }
  for (const auto& kv : sd)
    SIGNET_CHECK(used.count(kv.first), name_, ".load_state_dict: unexpected key '", kv.first, "'");
  groups_ = std::move(groups);
  state_ = std::move(state);
}

Tensor& Optimizer::buffer(ParamState& s, const std::string& name, const Tensor& p) {
  auto it = s.buffers.find(name);
  if (it == s.buffers.end()) it = s.buffers.emplace(name, zeros_like(p)).first;
  if (it->second.device() != p.device()) it->second = it->second.to(p.device());
  return it->second;
}

}  // namespace signet::optim
