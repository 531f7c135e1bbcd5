// Module: a model part that owns named parameters and buffers (PyTorch names) and sub-modules.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace signet::nn {

class Module {
 public:
  virtual ~Module() = default;
  // Every parameter with its dotted PyTorch name ("0.weight", "fc.bias", ...).
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  // Every parameter, in registration order.
  std::vector<Tensor> parameters() const;
  // Every buffer (running statistics, counters) with its dotted PyTorch name.
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  // Parameters and buffers by dotted name in PyTorch's order (per module: its parameters, its
  // buffers, then each child's); the tensors are the module's own (not copies).
  std::vector<std::pair<std::string, Tensor>> state_dict() const;
  // Copies every entry of state into the tensor of the same name. The keys must be exactly
  // those of state_dict() with the same shapes and dtypes; otherwise throws naming the key and
  // changes nothing.
  void load_state_dict(const std::map<std::string, Tensor>& state) const;
  // Drops the gradients of every parameter.
  void zero_grad() const;
  // Moves every parameter and buffer (here and in sub-modules) to device in place: each
  // tensor handle keeps its identity, name, dtype, shape and requires_grad, so handles held
  // elsewhere (layers, optimisers) see the move; a defined gradient moves with its parameter.
  // Optimiser state is created on the parameter's device at its first step, and state made
  // before the move follows the parameter at the next step (optim::Optimizer). Returns *this.
  Module& to(Device device);
  // Switches training mode (dropout, batch norm) here and in sub-modules.
  void train(bool on = true);
  bool training() const { return training_; }
  // The direct sub-modules with their names, in registration order.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const {
    return children_;
  }

 protected:
  // Registers a leaf tensor that requires a gradient under name.
  Tensor& register_parameter(const std::string& name, Tensor t);
  // Registers a tensor that is state but not a parameter (no gradient) under name.
  Tensor& register_buffer(const std::string& name, Tensor t);
  // Registers a sub-module under name; returns it.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }
  // Puts m in place of the sub-module registered under name (e.g. a new head); returns it.
  template <class M>
  std::shared_ptr<M> replace_module(const std::string& name, std::shared_ptr<M> m) {
    for (auto& [n, child] : children_)
      if (n == name) child = m;
    return m;
  }

 private:
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace signet::nn
