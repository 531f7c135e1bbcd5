#include "engine/ops/join.h"

#include <string>

#include "engine/autograd.h"
#include "engine/cuda_kernels_nn.h"
#include "engine/dispatch.h"
#include "engine/ops/elementwise.h"
#include "kernels/reference/index.h"

namespace signet {
namespace {

using kernels::IndexDesc;
using Grads = std::vector<Tensor>;
using IndexFn = void (*)(const IndexDesc&, const void*, const int64_t*, void*);

// Adapts ref::index_select<T> to the untyped dispatch signature.
template <class T>
void index_select_ref(const IndexDesc& d, const void* in, const int64_t* idx, void* out) {
  ref::index_select<T>(d, static_cast<const T*>(in), idx, static_cast<T*>(out));
}

// Adapts ref::index_add<T> to the untyped dispatch signature.
template <class T>
void index_add_ref(const IndexDesc& d, const void* g, const int64_t* idx, void* gi) {
  ref::index_add<T>(d, static_cast<const T*>(g), idx, static_cast<T*>(gi));
}

// Adapts ref::gather<T> to the untyped dispatch signature.
template <class T>
void gather_ref(const IndexDesc& d, const void* in, const int64_t* idx, void* out) {
  ref::gather<T>(d, static_cast<const T*>(in), idx, static_cast<T*>(out));
}

// Adapts ref::scatter_add<T> to the untyped dispatch signature.
template <class T>
void scatter_add_ref(const IndexDesc& d, const void* g, const int64_t* idx, void* gi) {
  ref::scatter_add<T>(d, static_cast<const T*>(g), idx, static_cast<T*>(gi));
}

// The registry entry of a forward indexing op (reference kernel on every dtype but bf16; cuda on
// f32 and i64).
dispatch::Op<IndexFn> select_op(const char* name, IndexFn f32, IndexFn f64, IndexFn i64, IndexFn u8,
                                IndexFn cuda_f32, IndexFn cuda_i64) {
  return {name,
          {{"v1_reference",
            Device::Type::cpu,
            {{DType::f32, f32}, {DType::f64, f64}, {DType::i64, i64}, {DType::u8, u8}}},
           {"v1_cuda", Device::Type::cuda, {{DType::f32, cuda_f32}, {DType::i64, cuda_i64}}}}};
}

// The registry entry of an accumulating backward op (reference kernel on f32 and f64; the
// deterministic cuda kernel on f32).
dispatch::Op<IndexFn> accumulate_op(const char* name, IndexFn f32, IndexFn f64, IndexFn cuda_f32) {
  return {name,
          {{"v1_reference", Device::Type::cpu, {{DType::f32, f32}, {DType::f64, f64}}},
           {"v1_cuda", Device::Type::cuda, {{DType::f32, cuda_f32}}}}};
}

// The device pointer of a contiguous i64 index tensor (host or cuda).
const int64_t* index_ptr(const Tensor& index) {
  return static_cast<const int64_t*>(index.raw_data());
}

// The (outer, dim_in, dim_out, inner) view of shape around dim with dim_out picked entries.
IndexDesc index_desc(const Shape& shape, int64_t dim, int64_t dim_out) {
  IndexDesc d;
  for (int64_t i = 0; i < dim; ++i) d.outer *= shape[i];
  d.dim_in = shape[dim];
  d.dim_out = dim_out;
  for (int64_t i = dim + 1; i < static_cast<int64_t>(shape.size()); ++i) d.inner *= shape[i];
  return d;
}

// The position of flat element i of a contiguous tensor of this shape, as "[1, 0, 2]".
std::string position_str(const Shape& shape, int64_t i) {
  Shape pos(shape.size());
  for (size_t k = shape.size(); k-- > 0;) {
    pos[k] = i % shape[k];
    i /= shape[k];
  }
  return shape_str(pos);
}

// Throws naming op and the first entry of the contiguous i64 index outside [0, size) (a cuda
// index is checked on a host copy, before any kernel runs).
void check_index_values(const char* op, const Tensor& index, int64_t size, int64_t dim,
                        const Shape& x_shape) {
  const Tensor host = index.cpu();
  const int64_t* p = host.data<int64_t>();
  for (int64_t i = 0; i < index.numel(); ++i)
    SIGNET_CHECK(p[i] >= 0 && p[i] < size, op, ": index ", p[i], " at position ",
                 position_str(index.shape(), i), " is out of range for dim ", dim, " of size ",
                 size, " (input shape ", shape_str(x_shape), ")");
}

// Checks the shared preconditions of index_select and gather; returns the normalized dim.
int64_t check_indexing(const char* op, const Tensor& x, int64_t dim, const Tensor& index) {
  check_dtype(op, x, {DType::f32, DType::f64, DType::i64, DType::u8});
  check_dtype(op, index, {DType::i64});
  SIGNET_CHECK(x.dim() > 0, op, ": input must have at least one dim, got shape ",
               shape_str(x.shape()));
  SIGNET_CHECK(x.device() == index.device(), op, ": input on ", x.device().str(), " but index on ",
               index.device().str());
  return normalize_dim(dim, x.dim(), op);
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  SIGNET_CHECK(!tensors.empty(), "cat: expects at least one tensor");
  for (const Tensor& t : tensors) check_defined("cat", t);
  const Tensor& first = tensors[0];
  SIGNET_CHECK(first.dim() > 0, "cat: zero-dimensional tensors cannot be concatenated");
  const int64_t d = normalize_dim(dim, first.dim(), "cat");
  std::string mismatches;
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    SIGNET_CHECK(t.dtype() == first.dtype(), "cat: dtypes differ (tensor 0 is ",
                 dtype_name(first.dtype()), ", tensor ", i, " is ", dtype_name(t.dtype()), ")");
    SIGNET_CHECK(t.device() == first.device(), "cat: tensors on different devices (tensor 0 on ",
                 first.device().str(), ", tensor ", i, " on ", t.device().str(), ")");
    bool fits = t.dim() == first.dim();
    for (int64_t k = 0; fits && k < t.dim(); ++k) fits = k == d || t.shape()[k] == first.shape()[k];
    if (!fits)
      mismatches += ", tensor " + std::to_string(i) + " " + shape_str(t.shape());
    else
      out_shape[d] += t.shape()[d];
  }
  SIGNET_CHECK(mismatches.empty(), "cat: shapes must match except along dim ", d, ": tensor 0 ",
               shape_str(first.shape()), " vs", mismatches.substr(1));
  Tensor out = empty(out_shape, first.dtype(), first.device());
  std::vector<int64_t> starts;
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    starts.push_back(at);
    copy_into(out.narrow(d, at, t.shape()[d]), t);
    at += t.shape()[d];
  }
  bool grad = false;
  std::vector<const Tensor*> inputs;
  for (const Tensor& t : tensors) {
    grad = grad || autograd::needs_grad({&t});
    inputs.push_back(&t);
  }
  if (!grad) return out;
  std::vector<int64_t> sizes;
  for (const Tensor& t : tensors) sizes.push_back(t.shape()[d]);
  autograd::record("CatBackward", inputs, {&out}, {},
                   [d, starts, sizes](const Grads& g, const Grads&) {
                     Grads gi;
                     for (size_t i = 0; i < sizes.size(); ++i)
                       gi.push_back(g[0].narrow(d, starts[i], sizes[i]));
                     return gi;
                   });
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  SIGNET_CHECK(!tensors.empty(), "stack: expects at least one tensor");
  for (const Tensor& t : tensors) check_defined("stack", t);
  const Shape& shape = tensors[0].shape();
  std::string mismatches;
  for (size_t i = 1; i < tensors.size(); ++i)
    if (tensors[i].shape() != shape)
      mismatches += ", tensor " + std::to_string(i) + " " + shape_str(tensors[i].shape());
  SIGNET_CHECK(mismatches.empty(), "stack: shapes must all match: tensor 0 ", shape_str(shape),
               " vs", mismatches.substr(1));
  const int64_t d = normalize_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  for (const Tensor& t : tensors) parts.push_back(t.unsqueeze(d));
  return cat(parts, d);
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  static const auto op =
      select_op("index_select", &index_select_ref<float>, &index_select_ref<double>,
                &index_select_ref<int64_t>, &index_select_ref<uint8_t>, &cuda_index_select<float>,
                &cuda_index_select<int64_t>);
  const int64_t d = check_indexing("index_select", x, dim, index);
  SIGNET_CHECK(index.dim() == 1, "index_select: index must be 1-D, got shape ",
               shape_str(index.shape()), " (input shape ", shape_str(x.shape()), ")");
  Tensor idx = index.contiguous();
  check_index_values("index_select", idx, x.shape()[d], d, x.shape());
  Shape out_shape = x.shape();
  out_shape[d] = idx.numel();
  const IndexDesc desc = index_desc(x.shape(), d, idx.numel());
  Tensor xc = x.contiguous();
  Tensor out = empty(out_shape, x.dtype(), x.device());
  op.run(x.device(), x.dtype(), {}, desc, xc.raw_data(), index_ptr(idx), out.raw_data());
  if (!autograd::needs_grad({&x})) return out;
  Shape in_shape = x.shape();
  DType dt = x.dtype();
  Device dev = x.device();
  autograd::record(
      "IndexSelectBackward", {&x}, {&out}, {idx},
      [desc, in_shape, dt, dev](const Grads& g, const Grads& s) {
        static const auto add = accumulate_op("index_add", &index_add_ref<float>,
                                              &index_add_ref<double>, &cuda_index_add_f32);
        Tensor gi = zeros(in_shape, dt, dev);
        Tensor go = g[0].contiguous();
        add.run(gi.device(), dt, {}, desc, go.raw_data(), index_ptr(s[0]), gi.raw_data());
        return Grads{gi};
      });
  return out;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  static const auto op =
      select_op("gather", &gather_ref<float>, &gather_ref<double>, &gather_ref<int64_t>,
                &gather_ref<uint8_t>, &cuda_gather<float>, &cuda_gather<int64_t>);
  const int64_t d = check_indexing("gather", x, dim, index);
  bool fits = index.dim() == x.dim();
  for (int64_t k = 0; fits && k < x.dim(); ++k) fits = k == d || index.shape()[k] == x.shape()[k];
  SIGNET_CHECK(fits, "gather: index of shape ", shape_str(index.shape()),
               " must match input shape ", shape_str(x.shape()), " in every dim except dim ", d);
  Tensor idx = index.contiguous();
  check_index_values("gather", idx, x.shape()[d], d, x.shape());
  const IndexDesc desc = index_desc(x.shape(), d, idx.shape()[d]);
  Tensor xc = x.contiguous();
  Tensor out = empty(idx.shape(), x.dtype(), x.device());
  op.run(x.device(), x.dtype(), {}, desc, xc.raw_data(), index_ptr(idx), out.raw_data());
  if (!autograd::needs_grad({&x})) return out;
  Shape in_shape = x.shape();
  DType dt = x.dtype();
  Device dev = x.device();
  autograd::record(
      "GatherBackward", {&x}, {&out}, {idx},
      [desc, in_shape, dt, dev](const Grads& g, const Grads& s) {
        static const auto add = accumulate_op("scatter_add", &scatter_add_ref<float>,
                                              &scatter_add_ref<double>, &cuda_scatter_add_f32);
        Tensor gi = zeros(in_shape, dt, dev);
        Tensor go = g[0].contiguous();
        add.run(gi.device(), dt, {}, desc, go.raw_data(), index_ptr(s[0]), gi.raw_data());
        return Grads{gi};
      });
  return out;
}

}  // namespace signet
