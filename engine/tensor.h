// Tensor: a shared handle to storage + shape + strides + offset + dtype + device, with the
// autograd state of DESIGN.md. Views share storage; in-place ops bump its version.
#pragma once
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "engine/dtype.h"
#include "engine/error.h"
#include "engine/shape.h"
#include "engine/storage.h"

namespace signet {

class Node;
struct RngStream;

// The state behind a Tensor handle. Several handles may share one TensorImpl.
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;       // in elements
  int64_t offset = 0;  // in elements from the start of storage
  DType dtype = DType::f32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient of a leaf
  std::shared_ptr<Node> grad_fn;     // the node that produced this tensor (null for leaves)
  uint32_t output_nr = 0;            // which output of grad_fn this is
  std::weak_ptr<Node> grad_accumulator;
  // A view of a tensor needing gradients made under NoGradGuard: in-place writes through it
  // with grad mode on would bypass autograd, so they are refused.
  bool no_grad_view = false;
};

class Tensor {
 public:
  // An undefined tensor (no storage); used for "no gradient".
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  // Size along dim (negative counts from the end).
  int64_t size(int64_t dim) const;
  int64_t numel() const { return shape_numel(impl().shape); }
  int64_t offset() const { return impl().offset; }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  // True when the elements are laid out row-major without gaps (size-1 dims ignored).
  bool is_contiguous() const;
  // Pointer to element 0 (storage + offset); T must match the dtype.
  template <class T>
  T* data() const {
    SIGNET_CHECK(dtype_of<T>::value == dtype(), "data<T>(): tensor has dtype ", dtype_name(dtype()),
                 ", not ", dtype_name(dtype_of<T>::value));
    check_host("data<T>()");
    return static_cast<T*>(raw_data());
  }
  // Untyped pointer to element 0 (a device pointer for a cuda tensor: for kernels only).
  void* raw_data() const;
  // Throws naming what when this tensor is not on the cpu (its elements are not host memory).
  void check_host(const char* what) const;
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }
  // Version of the shared storage (bumped by in-place ops).
  uint64_t version() const { return impl().storage->version(); }
  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  // True when both handles refer to the same TensorImpl.
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

  // Autograd.
  bool requires_grad() const { return impl().requires_grad; }
  // Marks a leaf as needing a gradient; returns *this.
  Tensor& requires_grad_(bool on = true);
  // The accumulated gradient (undefined until a backward reaches this leaf).
  Tensor grad() const { return Tensor(impl().grad); }
  // Replaces the accumulated gradient (undefined clears it).
  void set_grad(const Tensor& g) const { impl().grad = g.impl_; }
  // Drops the accumulated gradient.
  void zero_grad() const { impl().grad.reset(); }
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  // Back-propagates from this tensor: grad defaults to 1 for a one-element tensor.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  // A tensor sharing storage but cut from the graph.
  Tensor detach() const;

  // Views (share storage; differentiable).
  Tensor view(const Shape& shape) const;
  // A view when the layout allows, otherwise a contiguous copy.
  Tensor reshape(const Shape& shape) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  // Transpose of a 2-D tensor.
  Tensor t() const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  // Elements start, start+step, ... < end along dim (negative start/end count from the end).
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  // Broadcasts size-1 dims to shape (-1 keeps a size); no copy.
  Tensor expand(const Shape& shape) const;
  Tensor squeeze(int64_t dim) const;
  // Removes every size-1 dim.
  Tensor squeeze() const;
  Tensor unsqueeze(int64_t dim) const;
  // This tensor if contiguous, otherwise a contiguous copy.
  Tensor contiguous() const;
  // A copy converted to dtype (this tensor when it already has it).
  Tensor to(DType dtype) const;
  // A copy on device (this tensor when it is already there); differentiable.
  Tensor to(Device device) const;
  // to(Device::cpu()).
  Tensor cpu() const;
  // to(Device::cuda(index)).
  Tensor cuda(int index = 0) const;
  // A contiguous copy with its own storage.
  Tensor clone() const;

  // In-place (refused on tensors that need gradients while grad mode is on).
  Tensor& copy_(const Tensor& src);
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  // this += alpha * other
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(double value);

  // Reading values back.
  // The value of a one-element tensor, converted to double.
  double item() const;
  // All values in row-major order; T must match the dtype.
  template <class T>
  std::vector<T> to_vector() const;
  // "Tensor(shape=[2, 3], dtype=f32, device=cpu)" followed by the values.
  std::string str() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// Creation. Every tensor is new storage; dtype defaults to f32, device to cpu.
Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
            Device device = Device::cpu());
// A 0-d tensor holding value.
Tensor scalar_tensor(double value, DType dtype = DType::f32);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
// 0, 1, ..., end-1.
Tensor arange(int64_t end, DType dtype = DType::i64);
// start, start+step, ... < end (> end for a negative step).
Tensor arange(double start, double end, double step, DType dtype = DType::f32);
// Uniform in [0, 1) from stream (the default initialisation stream when null).
Tensor rand(const Shape& shape, DType dtype = DType::f32, RngStream* stream = nullptr);
// Standard normal from stream (the default initialisation stream when null).
Tensor randn(const Shape& shape, DType dtype = DType::f32, RngStream* stream = nullptr);
// A tensor holding values (row-major) with the given shape ({n} when empty).
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape = {});

// Throws naming op when t's dtype is not among allowed.
void check_dtype(const char* op, const Tensor& t, std::initializer_list<DType> allowed);
// Throws naming op when t is undefined.
void check_defined(const char* op, const Tensor& t);

}  // namespace signet
