#include "engine/ops/reduce.h"

#include <algorithm>

#include "engine/autograd.h"
#include "engine/cuda_kernels.h"
#include "engine/dispatch.h"
#include "engine/ops/elementwise.h"
#include "kernels/reference/reduce.h"

namespace signet {
namespace {

using kernels::ReduceDesc;
using kernels::ReduceOp;
using Grads = std::vector<Tensor>;
using ReduceFn = void (*)(ReduceOp, const ReduceDesc&, const void*, void*, int64_t*);
using ScatterFn = void (*)(const ReduceDesc&, const void*, const int64_t*, void*);

// Adapts ref::reduce<T> to the untyped dispatch signature.
template <class T>
void reduce_ref(ReduceOp op, const ReduceDesc& d, const void* in, void* out, int64_t* arg) {
  ref::reduce<T>(op, d, static_cast<const T*>(in), static_cast<T*>(out), arg);
}

// Adapts ref::scatter_to_arg<T> to the untyped dispatch signature.
template <class T>
void scatter_ref(const ReduceDesc& d, const void* g, const int64_t* arg, void* gi) {
  ref::scatter_to_arg<T>(d, static_cast<const T*>(g), arg, static_cast<T*>(gi));
}

// The registry entry of one reduction (reference kernel on f32 and f64, cuda on f32).
dispatch::Op<ReduceFn> reduce_op(const char* name) {
  return {name,
          {{"v1_reference",
            Device::Type::cpu,
            {{DType::f32, &reduce_ref<float>}, {DType::f64, &reduce_ref<double>}}},
           {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_reduce_f32}}}}};
}

// A reduction problem: the descriptor and the output shapes with and without keepdim.
struct Plan {
  ReduceDesc desc;
  Shape out_shape;      // kept dims only
  Shape keepdim_shape;  // reduced dims as 1
  int64_t count = 1;    // elements reduced into each output
};

// Splits x's dims into kept and reduced ones (all when dims is empty).
Plan plan(const char* op, const Tensor& x, const std::vector<int64_t>& dims) {
  SIGNET_CHECK(x.dim() <= kernels::kMaxDims, op, ": tensors of ", x.dim(),
               " dims are not supported (at most ", kernels::kMaxDims, ")");
  std::vector<bool> reduced(x.dim(), dims.empty());
  for (int64_t d : dims) {
    int64_t nd = normalize_dim(d, x.dim(), op);
    if (x.dim() == 0) continue;
    SIGNET_CHECK(!reduced[nd], op, ": dim ", nd, " given twice");
    reduced[nd] = true;
  }
  Plan p;
  for (int64_t i = 0; i < x.dim(); ++i) {
    if (reduced[i]) {
      p.desc.red_shape[p.desc.nred] = x.shape()[i];
      p.desc.red_in_stride[p.desc.nred++] = x.strides()[i];
      p.count *= x.shape()[i];
      p.keepdim_shape.push_back(1);
    } else {
      p.desc.keep_shape[p.desc.nkeep] = x.shape()[i];
      p.desc.keep_in_stride[p.desc.nkeep++] = x.strides()[i];
      p.out_shape.push_back(x.shape()[i]);
      p.keepdim_shape.push_back(x.shape()[i]);
    }
  }
  Shape out_strides = contiguous_strides(p.out_shape);
  for (int i = 0; i < p.desc.nkeep; ++i) p.desc.keep_out_stride[i] = out_strides[i];
  return p;
}

// Sum, max or min with autograd; max/min send the gradient to the first extremum.
Tensor reduce_values(const dispatch::Op<ReduceFn>& op, ReduceOp code, const Tensor& x,
                     const std::vector<int64_t>& dims, bool keepdim) {
  const char* name = op.name().c_str();
  check_dtype(name, x, {DType::f32, DType::f64});
  Plan p = plan(name, x, dims);
  SIGNET_CHECK(code == ReduceOp::sum || p.count > 0, name, ": reducing an empty dim of shape ",
               shape_str(x.shape()));
  Tensor out = empty(p.out_shape, x.dtype(), x.device());
  Tensor arg = code == ReduceOp::sum ? Tensor() : empty(p.out_shape, DType::i64, x.device());
  op.run(x.device(), x.dtype(), {}, code, p.desc, x.raw_data(), out.raw_data(),
         arg.defined() ? static_cast<int64_t*>(arg.raw_data()) : nullptr);
  if (keepdim) out = out.view(p.keepdim_shape);
  if (!autograd::needs_grad({&x})) return out;
  Shape in_shape = x.shape();
  if (code == ReduceOp::sum) {
    Shape kd = p.keepdim_shape;
    autograd::record("SumBackward", {&x}, {&out}, {}, [kd, in_shape](const Grads& g, const Grads&) {
      return Grads{g[0].reshape(kd).expand(in_shape).contiguous()};
    });
    return out;
  }
  DType dt = x.dtype();
  Device dev = x.device();
  autograd::record(
      code == ReduceOp::max ? "MaxBackward" : "MinBackward", {&x}, {&out}, {arg},
      [in_shape, dims, dt, dev](const Grads& g, const Grads& s) {
        static const dispatch::Op<ScatterFn> scatter{
            "scatter_to_arg",
            {{"v1_reference",
              Device::Type::cpu,
              {{DType::f32, &scatter_ref<float>}, {DType::f64, &scatter_ref<double>}}},
             {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_scatter_to_arg_f32}}}}};
        Tensor gi = zeros(in_shape, dt, dev);
        Plan q = plan("max backward", gi, dims);
        Tensor go = g[0].contiguous();
        scatter.run(dev, dt, {}, q.desc, go.raw_data(),
                    static_cast<const int64_t*>(s[0].raw_data()), gi.raw_data());
        return Grads{gi};
      });
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  static const auto op = reduce_op("sum");
  return reduce_values(op, ReduceOp::sum, x, dims, keepdim);
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  check_dtype("mean", x, {DType::f32, DType::f64});
  int64_t count = 1;
  if (dims.empty()) {
    count = x.numel();
  } else {
    for (int64_t d : dims) count *= x.shape()[normalize_dim(d, x.dim(), "mean")];
  }
  return sum(x, dims, keepdim) / static_cast<double>(count);
}

Tensor max(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  static const auto op = reduce_op("max");
  return reduce_values(op, ReduceOp::max, x, dims, keepdim);
}

Tensor min(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  static const auto op = reduce_op("min");
  return reduce_values(op, ReduceOp::min, x, dims, keepdim);
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  static const auto op = reduce_op("argmax");
  check_dtype("argmax", x, {DType::f32, DType::f64});
  Plan p = plan("argmax", x, {dim});
  SIGNET_CHECK(p.count > 0, "argmax: dim ", dim, " is empty in shape ", shape_str(x.shape()));
  Tensor values = empty(p.out_shape, x.dtype(), x.device());
  Tensor arg = empty(p.out_shape, DType::i64, x.device());
  op.run(x.device(), x.dtype(), {}, ReduceOp::max, p.desc, x.raw_data(), values.raw_data(),
         static_cast<int64_t*>(arg.raw_data()));
  return keepdim ? arg.view(p.keepdim_shape) : arg;
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  SIGNET_CHECK(g.shape().size() >= shape.size(), "sum_to: cannot reduce ", shape_str(g.shape()),
               " to ", shape_str(shape));
  size_t lead = g.shape().size() - shape.size();
  std::vector<int64_t> dims;
  for (size_t i = 0; i < g.shape().size(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1))
      dims.push_back(static_cast<int64_t>(i));
  if (dims.empty()) return g.reshape(shape);
  return sum(g, dims, true).reshape(shape);
}

}  // namespace signet
