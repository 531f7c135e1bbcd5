#include "engine/storage.h"

#include "engine/allocator.h"
#include "engine/error.h"

namespace signet {

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  SIGNET_CHECK(device.is_cpu(), "storage: device ", device.str(),
               " is not available in this build (CUDA tensors come with the CUDA device issue)");
  data_ = CpuAllocator::instance().allocate(nbytes);
}

Storage::~Storage() {
  CpuAllocator::instance().deallocate(data_, nbytes_);
}

}  // namespace signet
