// Fused optimiser updates on f32 (formulas in kernels/common/optim_desc.h), one thread per
// element running the per-element update the reference kernels run too
// (kernels/common/optim_update.h), so a step equals the cpu's within the device's rounding of sqrt
// and division; launchers return the launch status. Buffers the options leave unused may be null.
#pragma once
#include "kernels/common/optim_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// SGD step (momentum buffer buf, Nesterov, L2 weight decay).
cudaError_t sgd_step_f32(const kernels::SgdDesc& d, float* param, const float* grad, float* buf);
// Adam / AdamW step (vmax only with amsgrad).
cudaError_t adam_step_f32(const kernels::AdamDesc& d, float* param, const float* grad, float* m,
                          float* v, float* vmax);
// RMSProp step (grad_avg only when centered, buf only with momentum).
cudaError_t rmsprop_step_f32(const kernels::RmspropDesc& d, float* param, const float* grad,
                             float* square_avg, float* grad_avg, float* buf);

}  // namespace signet::cuda
