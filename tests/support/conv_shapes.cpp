#include "tests/support/conv_shapes.h"

#include <sstream>

namespace signet::testing {

kernels::ConvDesc conv_desc(int64_t n, int64_t c, int64_t k, int64_t groups, Shape in, Shape kernel,
                            Shape stride, Shape pad, Shape dil) {
  kernels::ConvDesc d;
  d.dims = static_cast<int>(in.size());
  d.n = n, d.c = c, d.k = k, d.groups = groups;
  for (int i = 0; i < d.dims; ++i) {
    const int s = 3 - d.dims + i;
    d.in[s] = in[i], d.kernel[s] = kernel[i], d.stride[s] = stride[i];
    d.pad[s] = pad[i], d.dilation[s] = dil[i];
    d.out[s] = (in[i] + 2 * pad[i] - dil[i] * (kernel[i] - 1) - 1) / stride[i] + 1;
  }
  return d;
}

kernels::ConvDesc conv_desc(int dims, int64_t n, int64_t c, int64_t k, int64_t groups,
                            std::vector<int64_t> in, std::vector<int64_t> kernel,
                            std::vector<int64_t> stride, std::vector<int64_t> pad,
                            std::vector<int64_t> dilation) {
  kernels::ConvDesc d;
  d.dims = dims, d.n = n, d.c = c, d.k = k, d.groups = groups;
  for (int i = 0; i < 3; ++i) {
    d.in[i] = in[size_t(i)], d.kernel[i] = kernel[size_t(i)], d.stride[i] = stride[size_t(i)];
    d.pad[i] = pad[size_t(i)], d.dilation[i] = dilation[size_t(i)];
    d.out[i] = (d.in[i] + 2 * d.pad[i] - d.dilation[i] * (d.kernel[i] - 1) - 1) / d.stride[i] + 1;
  }
  return d;
}

std::string conv_name(const kernels::ConvDesc& d) {
  std::ostringstream s;
  s << "n" << d.n << " c" << d.c << " k" << d.k << " g" << d.groups << " in " << d.in[0] << "x"
    << d.in[1] << "x" << d.in[2] << " kernel " << d.kernel[0] << "x" << d.kernel[1] << "x"
    << d.kernel[2] << " stride " << d.stride[0] << "," << d.stride[1] << "," << d.stride[2]
    << " pad " << d.pad[0] << "," << d.pad[1] << "," << d.pad[2] << " dil " << d.dilation[0] << ","
    << d.dilation[1] << "," << d.dilation[2];
  return s.str();
}

}  // namespace signet::testing
