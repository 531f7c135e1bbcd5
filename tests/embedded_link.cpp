// The embedded-build check (.ci/run): links against libsignet_engine.a and libsignet_kernels.a
// alone with plain g++ -std=c++17, proving they need nothing beyond the C++17 standard library.
#include <cstdio>

#include "engine/runtime_info.h"
#include "engine/tensor.h"

// Makes two small tensors, reads them back and checks the values.
int main() {
  const signet::Tensor a = signet::ones({2, 3});
  const signet::Tensor b = signet::full({2, 3}, 2.0);
  double sum = 0;
  for (float v : a.to_vector<float>()) sum += v;
  for (float v : b.to_vector<float>()) sum += v;
  const signet::RuntimeInfo info = signet::runtime_info();
  std::printf("embedded: shape %s, sum %g (expected 18), simd %s, openmp %s, cuda %s\n",
              signet::shape_str(a.shape()).c_str(), sum, info.simd_path.c_str(),
              info.openmp ? "on" : "off", info.cuda_built ? "on" : "off");
  return sum == 18 && !info.openmp && !info.cuda_built ? 0 : 1;
}
