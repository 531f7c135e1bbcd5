// Class-index checks of the cuda losses, and the checks of a sequence loss's lengths and mask,
// without a host round trip. The loss launches a small kernel that writes the first bad position
// into a device word (an integer minimum, deterministic) and goes on without waiting; the words
// are read, and the first bad value reported as a signet::Error, when the host next reads from
// the device (a copy to the cpu, such as loss.item()), which waits for the device anyway. This is
// PyTorch's behaviour for the same mistake on a GPU (a device-side assert surfacing at the next
// synchronising call), with the CPU's message. Until it is reported the loss kernels neither
// index with the bad value nor hide it: that element's loss (and gradient) is NaN.
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
// The padding weights (N, steps) f32 of device lengths (N) i64: 1 where t < lengths[n], else 0;
// a length outside [0, steps] is reported as message(n, length) and its row is NaN until then.
Tensor cuda_length_padding(const Tensor& lengths, int64_t steps, TargetMessage message);
// The error text for mask value `value` at flat position `at` of the mask.
using MaskMessage = std::function<std::string(int64_t at, double value)>;
// A device mask (u8 of 0 or 1, or f32 finite weights >= 0) as f32 weights of its shape; any other
// value is reported as message(position, value) and is NaN until then.
Tensor cuda_mask_padding(const Tensor& mask, MaskMessage message);
// Reads every queued check (the device has finished the work the caller waited for) and throws
// the first failure; a no-op when nothing is queued. Called after each device -> host copy.
void cuda_report_class_target_errors();

}  // namespace signet
