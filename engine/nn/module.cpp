#include "engine/nn/module.h"

#include "engine/autograd.h"
#include "engine/error.h"

namespace signet::nn {

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out = params_;
  for (const auto& [name, child] : children_)
    for (auto& [pname, p] : child->named_parameters()) out.emplace_back(name + "." + pname, p);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, p] : named_parameters()) out.push_back(p);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out = buffers_;
  for (const auto& [name, child] : children_)
    for (auto& [bname, b] : child->named_buffers()) out.emplace_back(name + "." + bname, b);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::state_dict() const {
  std::vector<std::pair<std::string, Tensor>> out = params_;
  out.insert(out.end(), buffers_.begin(), buffers_.end());
  for (const auto& [name, child] : children_)
    for (auto& [key, t] : child->state_dict()) out.emplace_back(name + "." + key, t);
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state) const {
  const auto own = state_dict();
  for (const auto& [key, t] : own) {
    auto it = state.find(key);
    SIGNET_CHECK(it != state.end(), "load_state_dict: missing key '", key, "' (shape ",
                 shape_str(t.shape()), ")");
    const Tensor& src = it->second;
    check_defined("load_state_dict", src);
    SIGNET_CHECK(src.shape() == t.shape() && src.dtype() == t.dtype(), "load_state_dict: key '",
                 key, "' has shape ", shape_str(src.shape()), " dtype ", dtype_name(src.dtype()),
                 ", the module expects shape ", shape_str(t.shape()), " dtype ",
                 dtype_name(t.dtype()));
  }
  for (const auto& [key, src] : state) {
    bool known = false;
    for (const auto& entry : own) known = known || entry.first == key;
    SIGNET_CHECK(known, "load_state_dict: unexpected key '", key, "' (shape ",
                 shape_str(src.shape()), ")");
  }
  NoGradGuard no_grad;
  for (const auto& [key, t] : own) {
    Tensor dst = t;
    dst.copy_(state.at(key));
  }
}

void Module::zero_grad() const {
  for (const Tensor& p : parameters()) p.zero_grad();
}

namespace {

// Points t's implementation at a contiguous copy of its elements on device.
void move_impl(TensorImpl& t, Device device) {
  if (t.storage->device() == device) return;
  Tensor moved = Tensor(std::make_shared<TensorImpl>(t)).detach().to(device).contiguous();
  t.storage = moved.storage();
  t.strides = moved.strides();
  t.offset = moved.offset();
}

}  // namespace

Module& Module::to(Device device) {
  NoGradGuard no_grad;
  for (auto* list : {&params_, &buffers_})
    for (auto& [name, t] : *list) {
      move_impl(t.impl(), device);
      if (t.impl().grad) move_impl(*t.impl().grad, device);
    }
  for (auto& [name, child] : children_) child->to(device);
  return *this;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

Tensor& Module::register_parameter(const std::string& name, Tensor t) {
  t.requires_grad_(true);
  params_.emplace_back(name, std::move(t));
  return params_.back().second;
}

Tensor& Module::register_buffer(const std::string& name, Tensor t) {
  buffers_.emplace_back(name, std::move(t));
  return buffers_.back().second;
}

}  // namespace signet::nn
