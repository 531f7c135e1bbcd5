// Module: a model part that owns named parameters (PyTorch names) and sub-modules.
#pragma once
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
  // Drops the gradients of every parameter.
  void zero_grad() const;
  // Switches training mode (dropout, batch norm) here and in sub-modules.
  void train(bool on = true);
  bool training() const { return training_; }

 protected:
  // Registers a leaf tensor that requires a gradient under name.
  Tensor& register_parameter(const std::string& name, Tensor t);
  // Registers a sub-module under name; returns it.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }

 private:
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace signet::nn
