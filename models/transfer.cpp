#include "models/transfer.h"

#include "engine/autograd.h"
#include "engine/io/safetensors.h"

namespace signet::models {
namespace {

// The names joined with ", " (at most 8, then a count).
std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 8; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 8) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

}  // namespace

LoadReport load_weights(nn::Module& m, const std::map<std::string, Tensor>& tensors, bool strict) {
  LoadReport r;
  std::vector<std::pair<Tensor, Tensor>> copies;
  std::map<std::string, bool> used;
  for (auto& [name, p] : m.state_dict()) {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      r.missing.push_back(name);
      continue;
    }
    SIGNET_CHECK(it->second.shape() == p.shape(), "load_weights: '", name, "' has shape ",
                 shape_str(it->second.shape()), " in the file but ", shape_str(p.shape()),
                 " in the model");
    used[name] = true;
    r.loaded.push_back(name);
    copies.emplace_back(p, it->second);
  }
  for (auto& [name, t] : tensors)
    if (!used.count(name)) r.unexpected.push_back(name);
  SIGNET_CHECK(!strict || (r.missing.empty() && r.unexpected.empty()),
               "load_weights (strict): missing [", join(r.missing), "], unexpected [",
               join(r.unexpected), "]");
  NoGradGuard no_grad;
  for (auto& [p, src] : copies) p.copy_(src.to(p.dtype()));
  return r;
}

LoadReport load_weights(nn::Module& m, const std::string& path, bool strict) {
  return load_weights(m, io::read_safetensors(path).tensors, strict);
}

std::vector<optim::ParamGroup> param_groups(const nn::Module& m,
                                            const std::vector<GroupRule>& rules) {
  std::vector<optim::ParamGroup> groups(rules.size() + 1);
  std::vector<std::string> names;
  for (auto& [name, p] : m.named_parameters()) {
    names.push_back(name);
    size_t g = 0;
    while (g < rules.size() && name.compare(0, rules[g].prefix.size(), rules[g].prefix) != 0) ++g;
    groups[g].params.emplace_back(name, p);
  }
  for (size_t g = 0; g < rules.size(); ++g) {
    SIGNET_CHECK(!groups[g].params.empty(), "param_groups: prefix '", rules[g].prefix,
                 "' matches no parameter; parameters: ", join(names));
    groups[g].frozen = rules[g].frozen;
    groups[g].lr = rules[g].lr;
  }
  if (groups.back().params.empty()) groups.pop_back();
  return groups;
}

}  // namespace signet::models
