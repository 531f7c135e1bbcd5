#include "engine/ops/kernel_args.h"

namespace signet {

Shape broadcast_strides(const Tensor& t, const Shape& out_shape) {
  Shape st(out_shape.size(), 0);
  size_t lead = out_shape.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i)
    st[lead + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return st;
}

kernels::StridedDesc strided_desc(const char* op, const Shape& shape, const Shape& s0,
                                  const Shape& s1, const Shape& s2) {
  SIGNET_CHECK(shape.size() <= static_cast<size_t>(kernels::kMaxDims), op, ": tensors of ",
               shape.size(), " dims are not supported (at most ", kernels::kMaxDims, ")");
  kernels::StridedDesc d;
  if (shape.empty()) {
    d.ndim = 1;
    d.shape[0] = 1;
    return d;
  }
  d.ndim = static_cast<int>(shape.size());
  const Shape* ops[3] = {&s0, &s1, &s2};
  for (int i = 0; i < d.ndim; ++i) {
    d.shape[i] = shape[i];
    for (int k = 0; k < 3; ++k) d.stride[k][i] = ops[k]->empty() ? 0 : (*ops[k])[i];
  }
  return d;
}

}  // namespace signet
