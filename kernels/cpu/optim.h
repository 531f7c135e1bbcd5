// Fast CPU fused optimiser updates (formulas in kernels/common/optim_desc.h):
//   v2 split  the reference's per-element arithmetic in the same operation order, with the
//             option branches hoisted into template flags, Adam and RMSProp in blocks of 256
//             (moments, then vsqrtps/vsqrtpd square roots, then the parameter) so every loop
//             vectorises, and the parameter split over OpenMP threads in contiguous ranges.
//             Equal to the reference within a few ulps (FMA contraction may differ).
// Kernels never allocate and never throw; arguments are checked by the caller.
#pragma once
#include "kernels/common/optim_desc.h"

namespace signet::cpu {

// v2 SGD step (momentum, Nesterov, L2 weight decay) on up to `threads` threads.
template <class T>
void sgd_step_v2(const kernels::SgdDesc& d, T* param, const T* grad, T* buf, int threads);

// v2 Adam / AdamW step on up to `threads` threads.
template <class T>
void adam_step_v2(const kernels::AdamDesc& d, T* param, const T* grad, T* m, T* v, T* vmax,
                  int threads);

// v2 RMSProp step (momentum, centered) on up to `threads` threads.
template <class T>
void rmsprop_step_v2(const kernels::RmspropDesc& d, T* param, const T* grad, T* square_avg,
                     T* grad_avg, T* buf, int threads);

}  // namespace signet::cpu
