// Batch norm on the cuda device over (n, c, inner) (kernels/common/norm_desc.h), same contract as
// kernels/reference/batch_norm.h:
//   v1 channel-block  one block per channel (grid-stride over channels): the training forward
//                     makes per-thread Welford statistics, merges them in a fixed shared-memory
//                     tree, then normalises the channel in a second pass; the fused backward
//                     makes one pass over x and dy for sum(dy) and sum(dy (x - mean)) (fixed tree)
//                     and one for dx. Parallelism is the channel count: a few channels with many
//                     elements each (early conv layers at a large batch) leave most of a GPU idle.
//   v2 split          batch_norm_splits(d) blocks per channel, each over one slice of the
//                     channel: pass 1 writes each slice's Welford mean and m2 (sum(dy) and
//                     sum(dy (x - mean)) in the backward) to the workspace, pass 2 merges a
//                     channel's slices in slice order (one thread per channel), pass 3 normalises
//                     (writes dx) elementwise over all of x. Same traffic as v1 (x read twice, y
//                     written once; x and dy read twice, dx written once), c * splits blocks.
// The evaluation forward is elementwise over all of x. Deterministic (no atomics; fixed trees
// and merge orders), so a run repeats bit for bit; v1 and v2 differ from each other and from the
// CPU in float rounding only. Bandwidth unmeasured so far (no GPU yet); bench/bench_cuda_norm.cpp
// measures both beside cuDNN.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/norm_desc.h"
#include "kernels/cuda/cuda_compat.h"

namespace signet::cuda {

// Training forward: y, and per channel mean, biased var and invstd of the batch (weight, bias
// may be null); launch status.
cudaError_t batch_norm_forward_train_f32(const kernels::BatchNormDesc& d, const float* x,
                                         const float* weight, const float* bias, float* y,
                                         float* mean, float* var, float* invstd);
// Evaluation forward: y from the given statistics (running_mean, running_var).
cudaError_t batch_norm_forward_eval_f32(const kernels::BatchNormDesc& d, const float* x,
                                        const float* mean, const float* var, const float* weight,
                                        const float* bias, float* y);
// Backward: dx (training: through the batch statistics), dweight, dbias; each may be null.
cudaError_t batch_norm_backward_f32(const kernels::BatchNormDesc& d, const float* x,
                                    const float* dy, const float* mean, const float* invstd,
                                    const float* weight, bool training, float* dx, float* dweight,
                                    float* dbias);

// v2: the blocks per channel (slices) for d: one per 16384 elements of a channel, 1 to 64.
int64_t batch_norm_splits(const kernels::BatchNormDesc& d);
// v2: the device workspace its training forward and backward need, in bytes.
size_t batch_norm_workspace_bytes(const kernels::BatchNormDesc& d);
// v2 training forward, as batch_norm_forward_train_f32, with batch_norm_workspace_bytes(d) bytes
// of device workspace.
cudaError_t batch_norm_v2_split_forward_train_f32(const kernels::BatchNormDesc& d, const float* x,
                                                  const float* weight, const float* bias, float* y,
                                                  float* mean, float* var, float* invstd,
                                                  float* workspace);
// v2 backward, as batch_norm_backward_f32, with batch_norm_workspace_bytes(d) bytes of workspace.
cudaError_t batch_norm_v2_split_backward_f32(const kernels::BatchNormDesc& d, const float* x,
                                             const float* dy, const float* mean,
                                             const float* invstd, const float* weight,
                                             bool training, float* dx, float* dweight, float* dbias,
                                             float* workspace);

}  // namespace signet::cuda
