#include "engine/autograd.h"

#include <algorithm>
#include <unordered_map>

#include "engine/ops/elementwise.h"

namespace signet {
namespace {

thread_local bool grad_enabled = true;

// A node whose backward is a function over its saved tensors (what every op records).
class FunctionNode : public Node {
 public:
  FunctionNode(const char* name, BackwardFn fn, std::vector<SavedTensor> saved)
      : name_(name), fn_(std::move(fn)), saved_(std::move(saved)) {}
  const char* name() const override { return name_; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    std::vector<Tensor> saved;
    saved.reserve(saved_.size());
    for (size_t i = 0; i < saved_.size(); ++i) saved.push_back(saved_[i].unpack(*this, i));
    return fn_(grads, saved);
  }
  void release() override {
    saved_.clear();
    fn_ = nullptr;
    released = true;
  }

 private:
  const char* name_;
  BackwardFn fn_;
  std::vector<SavedTensor> saved_;
};

// Whether g is seen by nobody but the engine's gradient buffer: its handle and its storage held
// once, contiguous and not on a graph. Such a gradient becomes a leaf's .grad as it is; any other
// is copied, since it may alias another leaf's .grad or a caller's tensor (an LSTM's 16 MiB
// weight gradients took 1.25 ms each to copy).
bool only_held_here(const Tensor& g) {
  return g.impl_ptr().use_count() == 1 && g.storage().use_count() == 1 && g.is_contiguous() &&
         !g.grad_fn() && !g.requires_grad();
}

// The sink of a leaf: adds arriving gradients into the leaf's .grad.
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {
    inputs.push_back({leaf_->shape, leaf_->dtype});
  }
  const char* name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    Tensor leaf(leaf_);
    Tensor old = leaf.grad();
    if (old.defined())
      leaf.set_grad(add(old, g));
    else
      leaf.set_grad(only_held_here(g) ? g : g.clone());
    return {};
  }
  void release() override {}

 private:
  std::shared_ptr<TensorImpl> leaf_;
};

// The edge a gradient for t follows: its grad_fn output, or its leaf accumulator.
Edge gradient_edge(const Tensor& t) {
  if (t.grad_fn()) return {t.grad_fn(), t.impl().output_nr};
  if (!t.requires_grad()) return {};
  std::shared_ptr<Node> acc = t.impl().grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    t.impl().grad_accumulator = acc;
  }
  return {acc, 0};
}

// Adds g into slot (which may be undefined).
void accumulate(Tensor& slot, const Tensor& g) {
  slot = slot.defined() ? add(slot, g) : g;
}

}  // namespace

bool GradMode::enabled() {
  return grad_enabled;
}
void GradMode::set_enabled(bool on) {
  grad_enabled = on;
}

SavedTensor::SavedTensor(const Tensor& t, bool is_output) {
  if (!t.defined()) return;
  version_ = t.version();
  if (!is_output) {
    tensor_ = t;
    return;
  }
  auto alias = std::make_shared<TensorImpl>();
  alias->storage = t.storage();
  alias->shape = t.shape();
  alias->strides = t.strides();
  alias->offset = t.offset();
  alias->dtype = t.dtype();
  tensor_ = Tensor(alias);
}

Tensor SavedTensor::unpack(const Node& node, size_t index) const {
  if (!tensor_.defined()) return tensor_;
  SIGNET_CHECK(tensor_.version() == version_, "backward of ", node.name(), ": saved tensor ", index,
               " (shape ", shape_str(tensor_.shape()), ", dtype ", dtype_name(tensor_.dtype()),
               ") was modified by an in-place operation after it was saved (version ",
               tensor_.version(), ", expected ", version_, ")");
  return tensor_;
}

namespace autograd {

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!GradMode::enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

void record(const char* name, std::vector<const Tensor*> inputs, std::vector<Tensor*> outputs,
            std::vector<Tensor> saved, BackwardFn fn, std::vector<bool> saved_outputs) {
  std::vector<SavedTensor> kept;
  kept.reserve(saved.size());
  for (size_t i = 0; i < saved.size(); ++i)
    kept.emplace_back(saved[i], i < saved_outputs.size() && saved_outputs[i]);
  auto node = std::make_shared<FunctionNode>(name, std::move(fn), std::move(kept));
  for (const Tensor* in : inputs) {
    node->next_edges.push_back(gradient_edge(*in));
    node->inputs.push_back({in->shape(), in->dtype(), in->device()});
  }
  node->num_outputs = static_cast<uint32_t>(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    TensorImpl& o = outputs[i]->impl();
    o.grad_fn = node;
    o.output_nr = static_cast<uint32_t>(i);
    o.requires_grad = true;
  }
}

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
              bool retain_graph) {
  NoGradGuard no_grad;
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  std::unordered_map<Node*, int> deps;
  std::vector<std::shared_ptr<Node>> start;
  for (size_t r = 0; r < roots.size(); ++r) {
    const Tensor& root = roots[r];
    check_defined("backward", root);
    SIGNET_CHECK(root.requires_grad(), "backward: the tensor (shape ", shape_str(root.shape()),
                 ") does not require grad and has no grad_fn");
    Tensor g = r < grads.size() ? grads[r] : Tensor();
    if (!g.defined()) {
      SIGNET_CHECK(root.numel() == 1,
                   "backward: a gradient can be created implicitly only for a one-element "
                   "output; this output has shape ",
                   shape_str(root.shape()), ": pass a gradient");
      g = ones_like(root);
    }
    SIGNET_CHECK(g.shape() == root.shape(), "backward: gradient of shape ", shape_str(g.shape()),
                 " given for an output of shape ", shape_str(root.shape()));
    Edge e = gradient_edge(root);
    auto& buf = buffers[e.node.get()];
    buf.resize(e.node->num_outputs);
    accumulate(buf[e.input_nr], g);
    start.push_back(e.node);
  }
  // Count, for every reachable node, how many edges lead into it.
  std::vector<Node*> stack;
  std::unordered_map<Node*, bool> seen;
  for (const auto& n : start)
    if (!seen[n.get()]) {
      seen[n.get()] = true;
      stack.push_back(n.get());
    }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges) {
      if (!e.node) continue;
      ++deps[e.node.get()];
      if (!seen[e.node.get()]) {
        seen[e.node.get()] = true;
        stack.push_back(e.node.get());
      }
    }
  }
  std::vector<std::shared_ptr<Node>> ready;
  for (const auto& n : start)
    if (deps[n.get()] == 0 && std::find(ready.begin(), ready.end(), n) == ready.end())
      ready.push_back(n);
  while (!ready.empty()) {
    std::shared_ptr<Node> node = ready.back();
    ready.pop_back();
    SIGNET_CHECK(!node->released, "backward: trying to go through ", node->name(),
                 " a second time, but its saved tensors were freed by the first backward; pass "
                 "retain_graph=true to the first backward");
    std::vector<Tensor> in_grads = std::move(buffers[node.get()]);
    buffers.erase(node.get());
    in_grads.resize(node->num_outputs);
    bool any = false;
    for (const Tensor& g : in_grads) any = any || g.defined();
    std::vector<Tensor> out_grads =
        any ? node->apply(in_grads) : std::vector<Tensor>(node->next_edges.size());
    SIGNET_CHECK(out_grads.size() == node->next_edges.size() || node->next_edges.empty(),
                 node->name(), " returned ", out_grads.size(), " gradients for ",
                 node->next_edges.size(), " inputs");
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.node) continue;
      const Tensor& g = out_grads[i];
      if (g.defined()) {
        SIGNET_CHECK(g.shape() == node->inputs[i].shape, node->name(),
                     " returned a gradient of shape ", shape_str(g.shape()), " for input ", i,
                     " of shape ", shape_str(node->inputs[i].shape));
        SIGNET_CHECK(g.dtype() == node->inputs[i].dtype, node->name(),
                     " returned a gradient of dtype ", dtype_name(g.dtype()), " for input ", i,
                     " of dtype ", dtype_name(node->inputs[i].dtype));
        SIGNET_CHECK(g.device() == node->inputs[i].device, node->name(), " returned a gradient on ",
                     g.device().str(), " for input ", i, " on ", node->inputs[i].device.str());
        auto& buf = buffers[e.node.get()];
        buf.resize(e.node->num_outputs);
        accumulate(buf[e.input_nr], g);
      }
      if (--deps[e.node.get()] == 0) ready.push_back(e.node);
    }
    if (!retain_graph) node->release();
  }
}

}  // namespace autograd
}  // namespace signet
