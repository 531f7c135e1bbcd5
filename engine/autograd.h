// Define-by-run autograd: ops record Nodes on a tape as they run; backward() walks it in
// reverse dependency order. Nodes may have several outputs and gradients may reach only some
// of them (those arrive as undefined tensors).
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "engine/tensor.h"

namespace signet {

// Whether ops record the graph; thread-local, on by default.
class GradMode {
 public:
  static bool enabled();
  static void set_enabled(bool on);
};

// Turns grad mode off for its lifetime (restores the previous state).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(GradMode::enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// Where a gradient goes: input `input_nr` of `node` (a null node means nowhere).
struct Edge {
  std::shared_ptr<Node> node;
  uint32_t input_nr = 0;
};

// Shape and dtype of a differentiable input, to check the gradient a node returns.
struct InputMeta {
  Shape shape;
  DType dtype = DType::f32;
  Device device = Device::cpu();
};

// One recorded operation. apply() receives one gradient per output and returns one per input.
class Node {
 public:
  virtual ~Node() = default;
  // The node's name in messages ("MulBackward").
  virtual const char* name() const = 0;
  // Gradients of the inputs from those of the outputs (undefined where none arrived).
  virtual std::vector<Tensor> apply(const std::vector<Tensor>& grad_outputs) = 0;
  // Frees saved tensors once backward has passed (unless the graph is retained).
  virtual void release() { released = true; }

  std::vector<Edge> next_edges;   // one per input
  std::vector<InputMeta> inputs;  // one per input
  uint32_t num_outputs = 1;
  bool released = false;
};

// A tensor kept for backward, with the storage version at save time. Outputs are kept as
// grad-less aliases so that a node never owns the tensor that owns it (no reference cycle).
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output);
  // The saved tensor; throws naming node if it was modified in place since it was saved.
  Tensor unpack(const Node& node, size_t index) const;

 private:
  Tensor tensor_;
  uint64_t version_ = 0;
};

// Gradients of a node's outputs -> gradients of its inputs, with the saved tensors unpacked.
using BackwardFn = std::function<std::vector<Tensor>(const std::vector<Tensor>& grads,
                                                     const std::vector<Tensor>& saved)>;

namespace autograd {

// True when grad mode is on and any of the tensors requires a gradient.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
// Records a node for outputs computed from inputs: `saved` is kept (and version-checked) for
// `fn`; `saved_outputs` marks which saved tensors are outputs of this node.
void record(const char* name, std::vector<const Tensor*> inputs, std::vector<Tensor*> outputs,
            std::vector<Tensor> saved, BackwardFn fn, std::vector<bool> saved_outputs = {});
// Runs backward from roots with their gradients.
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
              bool retain_graph);

}  // namespace autograd
}  // namespace signet
