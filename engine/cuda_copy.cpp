#include "engine/cuda_copy.h"

#include "engine/cuda_device.h"
#include "engine/cuda_target_check.h"
#include "engine/error.h"
#include "engine/ops/elementwise.h"
#include "engine/tensor.h"

namespace signet {

// The cpu side is made contiguous in the destination's shape and dtype first, the bytes cross
// in one copy that waits for the current stream, and a strided destination is filled from a
// contiguous device staging. A copy to the host then reports any bad loss target the device
// found (engine/cuda_target_check.h).
void copy_across_devices(const Tensor& dst, const Tensor& src) {
  SIGNET_CHECK(dst.device().is_cpu() != src.device().is_cpu(), "copy: ", src.device().str(), " -> ",
               dst.device().str(), " is not a cpu <-> cuda copy");
  const size_t bytes = size_t(dst.numel()) * dtype_size(dst.dtype());
  if (src.device().is_cpu()) {
    Tensor host = empty(dst.shape(), dst.dtype());
    copy_into(host, src);
    Tensor dev = dst.is_contiguous() ? dst : empty(dst.shape(), dst.dtype(), dst.device());
    if (bytes > 0)
      cuda_check(cuda_backend().memcpy_h2d(dev.raw_data(), host.raw_data(), bytes), "copy to cuda");
    if (!dev.same(dst)) copy_into(dst, dev);
    return;
  }
  Tensor dev = src;
  if (!(src.shape() == dst.shape() && src.is_contiguous())) {
    dev = empty(src.shape(), src.dtype(), src.device());
    copy_into(dev, src);
  }
  Tensor host = empty(dev.shape(), dev.dtype());
  const size_t src_bytes = size_t(dev.numel()) * dtype_size(dev.dtype());
  if (src_bytes > 0)
    cuda_check(cuda_backend().memcpy_d2h(host.raw_data(), dev.raw_data(), src_bytes),
               "copy from cuda");
  cuda_report_class_target_errors();
  copy_into(dst, host);
}

}  // namespace signet
