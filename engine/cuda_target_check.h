// Class-index checks of the cuda losses without a host round trip. The loss launches a small
// kernel that writes the first out-of-range target position into a device word (an integer
// minimum, deterministic) and goes on without waiting; the words are read, and the first bad
// target reported as a signet::Error, when the host next reads from the device (a copy to the
// cpu, such as loss.item()), which waits for the device anyway. This is PyTorch's behaviour for
// the same mistake on a GPU (a device-side assert surfacing at the next synchronising call), with
// the CPU's message. Until it is reported the loss kernels neither index with the bad target nor
// hide it: that element's loss (and gradient) is NaN.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "engine/tensor.h"
#include "kernels/common/nll_desc.h"

namespace signet {

// The error text for target value `value` at flat position `at` of the target.
using TargetMessage = std::function<std::string(int64_t at, int64_t value)>;

// Queues the check of the device target of problem d; message composes the error if one fails.
void cuda_check_class_targets(const kernels::NllDesc& d, const Tensor& target,
                              TargetMessage message);
// Reads every queued check (the device has finished the work the caller waited for) and throws
// the first failure; a no-op when nothing is queued. Called after each device -> host copy.
void cuda_report_class_target_errors();

}  // namespace signet
