#include "engine/tensor.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/random.h"
#include "kernels/reference/random.h"

namespace signet {
namespace {

// A new tensor sharing src's storage with the given geometry (no autograd state).
Tensor make_view(const Tensor& src, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = src.storage();
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = src.dtype();
  impl->no_grad_view = src.impl().no_grad_view || (!GradMode::enabled() && src.requires_grad());
  return Tensor(impl);
}

// Records the backward of a view: the output gradient reshaped back to the input's shape.
void record_reshape_view(const char* name, const Tensor& in, Tensor& out) {
  if (!autograd::needs_grad({&in})) return;
  Shape in_shape = in.shape();
  autograd::record(name, {&in}, {&out}, {},
                   [in_shape](const std::vector<Tensor>& g, const std::vector<Tensor>&) {
                     return std::vector<Tensor>{g[0].reshape(in_shape)};
                   });
}

// Replaces one -1 in shape by the size that makes numel match; throws naming op otherwise.
Shape infer_shape(const char* op, Shape shape, int64_t numel, const Shape& from) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      SIGNET_CHECK(infer < 0, op, ": only one dimension can be -1 in ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      SIGNET_CHECK(shape[i] >= 0, op, ": invalid size ", shape[i], " in ", shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    SIGNET_CHECK(known != 0 && numel % known == 0, op, ": cannot reshape ", shape_str(from),
                 " into ", shape_str(shape));
    shape[infer] = numel / known;
  }
  SIGNET_CHECK(shape_numel(shape) == numel, op, ": cannot reshape ", shape_str(from), " (", numel,
               " elements) into ", shape_str(shape));
  return shape;
}

// Writes element i of a contiguous tensor, converted to text.
void print_element(std::ostream& os, const Tensor& c, int64_t i) {
  switch (c.dtype()) {
    case DType::f32:
      os << c.data<float>()[i];
      break;
    case DType::f64:
      os << c.data<double>()[i];
      break;
    case DType::i64:
      os << c.data<int64_t>()[i];
      break;
    case DType::u8:
      os << static_cast<int>(c.data<uint8_t>()[i]);
      break;
    case DType::bf16:
      os << static_cast<float>(c.data<bf16>()[i]);
      break;
  }
}

}  // namespace

int64_t Tensor::size(int64_t d) const {
  return shape()[normalize_dim(d, dim(), "size")];
}

TensorImpl& Tensor::impl() const {
  SIGNET_CHECK(impl_ != nullptr, "use of an undefined tensor");
  return *impl_;
}

bool Tensor::is_contiguous() const {
  int64_t expect = 1;
  for (size_t i = shape().size(); i-- > 0;) {
    if (shape()[i] == 1) continue;
    if (strides()[i] != expect) return false;
    expect *= shape()[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl().storage->data()) + offset() * dtype_size(dtype());
}

Tensor& Tensor::requires_grad_(bool on) {
  SIGNET_CHECK(is_leaf(),
               "requires_grad_: only leaf tensors can change requires_grad (this one "
               "was produced by ",
               grad_fn()->name(), ")");
  SIGNET_CHECK(!on || is_floating(dtype()),
               "requires_grad_: only floating tensors can require "
               "gradients, this one is ",
               dtype_name(dtype()));
  impl().requires_grad = on;
  return *this;
}

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  autograd::backward({*this}, {grad}, retain_graph);
}

Tensor Tensor::detach() const {
  return make_view(*this, shape(), strides(), offset());
}

Tensor Tensor::view(const Shape& new_shape) const {
  Shape s = infer_shape("view", new_shape, numel(), shape());
  SIGNET_CHECK(is_contiguous(), "view: tensor of shape ", shape_str(shape()), " with strides ",
               shape_str(strides()), " is not contiguous; use reshape()");
  Tensor out = make_view(*this, s, contiguous_strides(s), offset());
  record_reshape_view("ViewBackward", *this, out);
  return out;
}

Tensor Tensor::reshape(const Shape& new_shape) const {
  Shape s = infer_shape("reshape", new_shape, numel(), shape());
  return is_contiguous() ? view(s) : contiguous().view(s);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  int64_t s = normalize_dim(start_dim, dim(), "flatten");
  int64_t e = normalize_dim(end_dim, dim(), "flatten");
  SIGNET_CHECK(s <= e, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape out(shape().begin(), shape().begin() + s);
  int64_t n = 1;
  for (int64_t i = s; i <= e; ++i) n *= shape()[i];
  out.push_back(n);
  out.insert(out.end(), shape().begin() + e + 1, shape().end());
  return reshape(out);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  SIGNET_CHECK(static_cast<int64_t>(dims.size()) == dim(), "permute: ", dims.size(),
               " dims given for a tensor of shape ", shape_str(shape()));
  std::vector<int64_t> d(dims.size()), inverse(dims.size());
  std::vector<bool> used(dims.size(), false);
  Shape s(dims.size()), st(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    d[i] = normalize_dim(dims[i], dim(), "permute");
    SIGNET_CHECK(!used[d[i]], "permute: dim ", d[i], " repeated in ", shape_str(dims));
    used[d[i]] = true;
    s[i] = shape()[d[i]];
    st[i] = strides()[d[i]];
    inverse[d[i]] = static_cast<int64_t>(i);
  }
  Tensor out = make_view(*this, s, st, offset());
  if (autograd::needs_grad({this}))
    autograd::record("PermuteBackward", {this}, {&out}, {},
                     [inverse](const std::vector<Tensor>& g, const std::vector<Tensor>&) {
                       return std::vector<Tensor>{g[0].permute(inverse)};
                     });
  return out;
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  std::vector<int64_t> dims(dim());
  for (int64_t i = 0; i < dim(); ++i) dims[i] = i;
  std::swap(dims[normalize_dim(d0, dim(), "transpose")],
            dims[normalize_dim(d1, dim(), "transpose")]);
  return permute(dims);
}

Tensor Tensor::t() const {
  SIGNET_CHECK(dim() == 2, "t: expects a 2-D tensor, got shape ", shape_str(shape()));
  return transpose(0, 1);
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  int64_t dd = normalize_dim(d, dim(), "narrow");
  SIGNET_CHECK(length >= 0 && start >= 0 && start + length <= shape()[dd], "narrow: start ", start,
               " length ", length, " out of range for dim ", dd, " of shape ", shape_str(shape()));
  return slice(dd, start, start + length, 1);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  int64_t dd = normalize_dim(d, dim(), "slice");
  SIGNET_CHECK(step > 0, "slice: step must be positive, got ", step);
  int64_t n = shape()[dd];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape s = shape(), st = strides();
  s[dd] = (end - start + step - 1) / step;
  st[dd] *= step;
  Tensor out = make_view(*this, s, st, offset() + start * strides()[dd]);
  if (autograd::needs_grad({this})) {
    Shape in_shape = shape();
    DType dt = dtype();
    Device dev = device();
    autograd::record("SliceBackward", {this}, {&out}, {},
                     [in_shape, dt, dev, dd, start, end, step](const std::vector<Tensor>& g,
                                                               const std::vector<Tensor>&) {
                       Tensor gi = zeros(in_shape, dt, dev);
                       copy_into(gi.slice(dd, start, end, step), g[0]);
                       return std::vector<Tensor>{gi};
                     });
  }
  return out;
}

Tensor Tensor::expand(const Shape& target) const {
  SIGNET_CHECK(target.size() >= shape().size(), "expand: cannot expand shape ", shape_str(shape()),
               " to fewer dims ", shape_str(target));
  size_t lead = target.size() - shape().size();
  Shape s(target.size()), st(target.size(), 0);
  for (size_t i = 0; i < target.size(); ++i) {
    if (i < lead) {
      SIGNET_CHECK(target[i] >= 0, "expand: size -1 not allowed for new leading dim ", i);
      s[i] = target[i];
      continue;
    }
    int64_t cur = shape()[i - lead];
    int64_t want = target[i] == -1 ? cur : target[i];
    SIGNET_CHECK(cur == want || cur == 1, "expand: shape ", shape_str(shape()),
                 " cannot be expanded to ", shape_str(target), " (dim ", i, ")");
    s[i] = want;
    st[i] = cur == want ? strides()[i - lead] : 0;
  }
  Tensor out = make_view(*this, s, st, offset());
  if (autograd::needs_grad({this})) {
    Shape in_shape = shape();
    autograd::record("ExpandBackward", {this}, {&out}, {},
                     [in_shape](const std::vector<Tensor>& g, const std::vector<Tensor>&) {
                       return std::vector<Tensor>{sum_to(g[0], in_shape)};
                     });
  }
  return out;
}

Tensor Tensor::squeeze(int64_t d) const {
  int64_t dd = normalize_dim(d, dim(), "squeeze");
  if (dim() == 0 || shape()[dd] != 1) return *this;
  Shape s = shape(), st = strides();
  s.erase(s.begin() + dd);
  st.erase(st.begin() + dd);
  Tensor out = make_view(*this, s, st, offset());
  record_reshape_view("SqueezeBackward", *this, out);
  return out;
}

Tensor Tensor::squeeze() const {
  Shape s, st;
  for (int64_t i = 0; i < dim(); ++i)
    if (shape()[i] != 1) {
      s.push_back(shape()[i]);
      st.push_back(strides()[i]);
    }
  Tensor out = make_view(*this, s, st, offset());
  record_reshape_view("SqueezeBackward", *this, out);
  return out;
}

Tensor Tensor::unsqueeze(int64_t d) const {
  int64_t dd = normalize_dim(d, dim() + 1, "unsqueeze");
  Shape s = shape(), st = strides();
  int64_t stride = dd < dim() ? strides()[dd] * shape()[dd] : 1;
  s.insert(s.begin() + dd, 1);
  st.insert(st.begin() + dd, stride);
  Tensor out = make_view(*this, s, st, offset());
  record_reshape_view("UnsqueezeBackward", *this, out);
  return out;
}

Tensor Tensor::contiguous() const {
  return is_contiguous() ? *this : clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  copy_into(out, *this);
  if (autograd::needs_grad({this}))
    autograd::record("CloneBackward", {this}, {&out}, {},
                     [](const std::vector<Tensor>& g, const std::vector<Tensor>&) {
                       return std::vector<Tensor>{g[0]};
                     });
  return out;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = empty(shape(), target, device());
  copy_into(out, *this);
  if (autograd::needs_grad({this}) && is_floating(target)) {
    DType src = dtype();
    autograd::record("ToDtypeBackward", {this}, {&out}, {},
                     [src](const std::vector<Tensor>& g, const std::vector<Tensor>&) {
                       return std::vector<Tensor>{g[0].to(src)};
                     });
  }
  return out;
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  Tensor out = empty(shape(), dtype(), target);
  copy_into(out, *this);
  if (autograd::needs_grad({this})) {
    Device src = device();
    autograd::record("ToDeviceBackward", {this}, {&out}, {},
                     [src](const std::vector<Tensor>& g, const std::vector<Tensor>&) {
                       return std::vector<Tensor>{g[0].to(src)};
                     });
  }
  return out;
}

Tensor Tensor::cpu() const {
  return to(Device::cpu());
}

Tensor Tensor::cuda(int index) const {
  return to(Device::cuda(index));
}

void Tensor::check_host(const char* what) const {
  SIGNET_CHECK(device().is_cpu(), what, ": tensor of shape ", shape_str(shape()), " is on ",
               device().str(), "; copy it with .cpu()");
}

// Refuses an in-place op on a tensor autograd may need.
static void check_inplace(const char* op, const Tensor& t) {
  SIGNET_CHECK(!(GradMode::enabled() && t.requires_grad()), op,
               ": in-place operation on a tensor that requires grad (shape ", shape_str(t.shape()),
               "); use an out-of-place op or a NoGradGuard");
  SIGNET_CHECK(!(GradMode::enabled() && t.impl().no_grad_view), op,
               ": in-place operation with grad mode on through a view (shape ",
               shape_str(t.shape()),
               ") made under NoGradGuard of a tensor that requires grad; write under a "
               "NoGradGuard");
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace("copy_", *this);
  copy_into(*this, src);
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::fill_(double value) {
  check_inplace("fill_", *this);
  fill_into(*this, value);
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_inplace("add_", *this);
  copy_into(*this,
            add(*this, alpha == 1.0 ? other : mul(other, scalar_tensor(alpha, other.dtype()))));
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::mul_(double value) {
  check_inplace("mul_", *this);
  copy_into(*this, mul(*this, scalar_tensor(value, dtype())));
  storage()->bump_version();
  return *this;
}

double Tensor::item() const {
  check_host("item");
  SIGNET_CHECK(numel() == 1, "item: expects a one-element tensor, got shape ", shape_str(shape()));
  Tensor c = to(DType::f64);
  return *c.data<double>();
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  SIGNET_CHECK(dtype_of<T>::value == dtype(), "to_vector: tensor has dtype ", dtype_name(dtype()),
               ", not ", dtype_name(dtype_of<T>::value));
  check_host("to_vector");
  Tensor c = contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + numel());
}

template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;

std::string Tensor::str() const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor(shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype())
     << ", device=" << device().str();
  if (requires_grad()) os << ", requires_grad";
  os << ")\n";
  Tensor c = (device().is_cpu() ? *this : detach().cpu()).contiguous();
  const int64_t limit = 64;
  int64_t n = std::min(numel(), limit);
  int64_t row = dim() > 0 && shape().back() > 0 ? shape().back() : 1;
  os.precision(6);
  for (int64_t i = 0; i < n; ++i) {
    print_element(os, c, i);
    os << ((i + 1) % row == 0 ? "\n" : " ");
  }
  if (numel() > limit) os << "... (" << numel() - limit << " more)\n";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  return os << t.str();
}

Tensor empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t s : shape) SIGNET_CHECK(s >= 0, "empty: negative size in shape ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(shape_numel(shape) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(impl);
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  fill_into(t, value);
  return t;
}

Tensor zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0, dtype, device);
}
Tensor ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, 1, dtype, device);
}
Tensor scalar_tensor(double value, DType dtype) {
  return full({}, value, dtype);
}
Tensor zeros_like(const Tensor& t) {
  return zeros(t.shape(), t.dtype(), t.device());
}
Tensor ones_like(const Tensor& t) {
  return ones(t.shape(), t.dtype(), t.device());
}

Tensor arange(int64_t end, DType dtype) {
  return arange(0, static_cast<double>(end), 1, dtype);
}

Tensor arange(double start, double end, double step, DType dtype) {
  SIGNET_CHECK(step != 0, "arange: step must be non-zero");
  int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((end - start) / step)));
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = start + static_cast<double>(i) * step;
  return from_vector(v, {n}).to(dtype);
}

Tensor rand(const Shape& shape, DType dtype, RngStream* stream) {
  check_dtype("rand", empty({}, dtype), {DType::f32, DType::f64});
  Tensor t = empty(shape, dtype);
  RngStream& s = stream ? *stream : default_init_stream();
  if (dtype == DType::f32)
    s.uniform(t.data<float>(), t.numel());
  else
    s.uniform(t.data<double>(), t.numel());
  return t;
}

Tensor randn(const Shape& shape, DType dtype, RngStream* stream) {
  check_dtype("randn", empty({}, dtype), {DType::f32, DType::f64});
  Tensor t = empty(shape, dtype);
  RngStream& s = stream ? *stream : default_init_stream();
  if (dtype == DType::f32)
    s.normal(t.data<float>(), t.numel());
  else
    s.normal(t.data<double>(), t.numel());
  return t;
}

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
  Shape s = shape.empty() ? Shape{static_cast<int64_t>(values.size())} : shape;
  SIGNET_CHECK(shape_numel(s) == static_cast<int64_t>(values.size()),
               "from_vector: ", values.size(), " values do not fill shape ", shape_str(s));
  Tensor t = empty(s, dtype_of<T>::value);
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}

template Tensor from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&);
template Tensor from_vector<uint8_t>(const std::vector<uint8_t>&, const Shape&);

void check_dtype(const char* op, const Tensor& t, std::initializer_list<DType> allowed) {
  check_defined(op, t);
  std::string names;
  for (DType d : allowed) {
    if (d == t.dtype()) return;
    names += std::string(names.empty() ? "" : ", ") + dtype_name(d);
  }
  SIGNET_FAIL(op, ": dtype ", dtype_name(t.dtype()), " is not supported (accepts ", names,
              "); tensor shape ", shape_str(t.shape()));
}

void check_defined(const char* op, const Tensor& t) {
  SIGNET_CHECK(t.defined(), op, ": got an undefined tensor");
}

}  // namespace signet
