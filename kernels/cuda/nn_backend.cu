#include "kernels/cuda/cuda_compat.h"

#include "kernels/cuda/batch_norm.h"
#include "kernels/cuda/conv_igemm.h"
#include "kernels/cuda/conv_naive.h"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/nn_backend.h"
#include "kernels/cuda/pool.h"

namespace signet::cuda {
namespace {

// A launcher returning cudaError_t seen as the table's int-returning function.
template <auto Launcher>
struct AsStatus;
template <class... A, cudaError_t (*Launcher)(A...)>
struct AsStatus<Launcher> {
  static int call(A... args) { return int(Launcher(args...)); }
};

}  // namespace

// This build's table.
const GpuNnBackend& nn_backend() {
  static const GpuNnBackend table{&AsStatus<&dropout_forward_f32>::call,
                                  &AsStatus<&max_pool_forward_f32>::call,
                                  &AsStatus<&max_pool_backward_f32>::call,
                                  &AsStatus<&avg_pool_forward_f32>::call,
                                  &AsStatus<&avg_pool_backward_f32>::call,
                                  &AsStatus<&adaptive_avg_pool_forward_f32>::call,
                                  &AsStatus<&adaptive_avg_pool_backward_f32>::call,
                                  &AsStatus<&batch_norm_forward_train_f32>::call,
                                  &AsStatus<&batch_norm_forward_eval_f32>::call,
                                  &AsStatus<&batch_norm_backward_f32>::call,
                                  &AsStatus<&conv_v1_naive_forward_f32>::call,
                                  &AsStatus<&conv_v1_naive_backward_data_f32>::call,
                                  &AsStatus<&conv_v1_naive_backward_weights_f32>::call,
                                  &AsStatus<&conv_v2_igemm_forward_f32>::call,
                                  &AsStatus<&conv_v2_igemm_backward_data_f32>::call,
                                  &AsStatus<&conv_v2_igemm_backward_weights_f32>::call,
                                  &conv_igemm_workspace_bytes};
  return table;
}

}  // namespace signet::cuda
