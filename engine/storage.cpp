#include "engine/storage.h"

#include "engine/allocator.h"
#include "engine/cuda_allocator.h"
#include "engine/error.h"

namespace signet {

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  data_ = device.is_cpu() ? CpuAllocator::instance().allocate(nbytes)
                          : CudaAllocator::instance(device.index).allocate(nbytes);
}

Storage::~Storage() {
  if (device_.is_cpu())
    CpuAllocator::instance().deallocate(data_, nbytes_);
  else
    CudaAllocator::instance(device_.index).deallocate(data_, nbytes_);
}

}  // namespace signet
