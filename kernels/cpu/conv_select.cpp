// The selection rule and the per-version entry points of the f32 CPU convolutions.
#include "kernels/cpu/conv_select.h"

#include "kernels/cpu/conv_direct.h"
#include "kernels/cpu/conv_im2col.h"
#include "kernels/cpu/conv_small_c.h"
#include "kernels/reference/conv.h"

namespace signet::cpu {

using kernels::ConvDesc;

const char* conv_version_name(ConvVersion v) {
  switch (v) {
    case ConvVersion::v2_im2col:
      return "v2_im2col";
    case ConvVersion::v3_direct:
      return "v3_direct";
    case ConvVersion::v4_small_c:
      return "v4_small_c";
    case ConvVersion::v1_reference:
      break;
  }
  return "v1_reference";
}

// v2 needs at least 4 filters per group to give the GEMM rows; v3 and v4 run on AVX-512 only
// (conv_v3_direct_fits, conv_v4_small_c_fits), v4 the forward only.
bool conv_version_fits(ConvVersion v, const ConvDesc& d, ConvPass pass) {
  switch (v) {
    case ConvVersion::v4_small_c:
      return active_simd_path() == SimdPath::avx512 && pass == ConvPass::forward &&
             conv_v4_small_c_fits(d);
    case ConvVersion::v2_im2col:
      return d.k / d.groups >= 4;
    case ConvVersion::v3_direct:
      return active_simd_path() == SimdPath::avx512 &&
             conv_v3_direct_fits(d, pass == ConvPass::backward_data);
    case ConvVersion::v1_reference:
      break;
  }
  return true;
}

// v4 for the forward of first layers (C <= 4, not 1x1: E fwd 1.2x v3, A 1.0-1.15x); v3 wherever
// it fits and its vector lanes (the pass's output channels: d.c for backward-data, else the
// filters) fill at least one 16-wide block, except pointwise convolutions (1x1, stride 1,
// padding 0), which v2 hands straight to the packed GEMM; then v2; then v1. (A first layer's
// backward-data with C = 1: v3 5.8 GFLOP/s, v2 16.)
ConvVersion conv_select(const ConvDesc& d, ConvPass pass) {
  if (conv_version_fits(ConvVersion::v4_small_c, d, pass) && d.c <= kSmallConvChannels &&
      !conv_is_pointwise(d))
    return ConvVersion::v4_small_c;
  const int64_t lanes = pass == ConvPass::backward_data ? d.c : d.k;
  if (conv_version_fits(ConvVersion::v3_direct, d, pass) && lanes >= 16 && !conv_is_pointwise(d))
    return ConvVersion::v3_direct;
  if (conv_version_fits(ConvVersion::v2_im2col, d, pass)) return ConvVersion::v2_im2col;
  return ConvVersion::v1_reference;
}

size_t conv_version_workspace_bytes(ConvVersion v, const ConvDesc& d, ConvPass pass, int threads) {
  switch (v) {
    case ConvVersion::v4_small_c:
      return conv_v4_small_c_workspace_bytes(d, threads);
    case ConvVersion::v3_direct:
      return pass == ConvPass::backward_weights
                 ? conv_v3_direct_weights_workspace_bytes(d, threads)
                 : conv_v3_direct_workspace_bytes(d, pass == ConvPass::backward_data, threads);
    case ConvVersion::v2_im2col:
      return conv_workspace_bytes(d, threads);
    case ConvVersion::v1_reference:
      break;
  }
  return 0;
}

void conv_run_forward(ConvVersion v, const ConvDesc& d, const float* x, const float* w,
                      const float* bias, float* y, void* workspace, int threads, SimdPath path) {
  switch (v) {
    case ConvVersion::v4_small_c:
      return conv_v4_small_c_forward(d, x, w, bias, y, workspace, threads, path);
    case ConvVersion::v3_direct:
      return conv_v3_direct_forward(d, x, w, bias, y, workspace, threads, path);
    case ConvVersion::v2_im2col:
      return conv_v2_im2col_forward(d, x, w, bias, y, workspace, threads, path);
    case ConvVersion::v1_reference:
      break;
  }
  ref::conv_forward<float>(d, x, w, bias, y);
}

void conv_run_backward_data(ConvVersion v, const ConvDesc& d, const float* dy, const float* w,
                            float* dx, void* workspace, int threads, SimdPath path) {
  switch (v) {
    case ConvVersion::v3_direct:
      return conv_v3_direct_backward_data(d, dy, w, dx, workspace, threads, path);
    case ConvVersion::v2_im2col:
      return conv_v2_im2col_backward_data(d, dy, w, dx, workspace, threads, path);
    case ConvVersion::v4_small_c:  // forward only (conv_version_fits)
    case ConvVersion::v1_reference:
      break;
  }
  ref::conv_backward_data<float>(d, dy, w, dx);
}

void conv_run_backward_weights(ConvVersion v, const ConvDesc& d, const float* x, const float* dy,
                               float* dw, float* dbias, void* workspace, int threads,
                               SimdPath path) {
  switch (v) {
    case ConvVersion::v2_im2col:
      return conv_v2_im2col_backward_weights(d, x, dy, dw, dbias, workspace, threads, path);
    case ConvVersion::v3_direct:
      return conv_v3_direct_backward_weights(d, x, dy, dw, dbias, workspace, threads, path);
    case ConvVersion::v4_small_c:  // forward only (conv_version_fits)
    case ConvVersion::v1_reference:
      break;
  }
  ref::conv_backward_weights<float>(d, x, dy, dw, dbias);
}

}  // namespace signet::cpu
