#include "kernels/cuda/loss.h"
#include "kernels/cuda/stream.h"

#include <cmath>

namespace signet::cuda {
namespace {

using kernels::NllDesc;

constexpr int kThreads = 256;

// True for a target that is neither a class of d nor d's ignore_index.
__device__ bool out_of_range(const NllDesc& d, int64_t t) {
  return t != d.ignore_index && (t < 0 || t >= d.c);
}

// Thread i checks target position i; the smallest bad position lands in *first_bad (an integer
// minimum: the same answer in any order).
__global__ void class_target_check_kernel(NllDesc d, const int64_t* __restrict__ target,
                                          unsigned long long* first_bad) {
  const int64_t count = d.n * d.inner;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride)
    if (out_of_range(d, target[i])) atomicMin(first_bad, (unsigned long long)i);
}

// Thread i handles target position i = (s, j).
__global__ void nll_forward_kernel(NllDesc d, const float* __restrict__ logp,
                                   const int64_t* __restrict__ target,
                                   const float* __restrict__ weight, float* __restrict__ loss,
                                   float* __restrict__ wsum) {
  const int64_t count = d.n * d.inner;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    const int64_t t = target[i];
    if (t == d.ignore_index || out_of_range(d, t)) {
      loss[i] = t == d.ignore_index ? 0.0f : NAN;
      wsum[i] = 0.0f;
      continue;
    }
    const int64_t s = i / d.inner, j = i % d.inner;
    const float w = weight ? weight[t] : 1.0f;
    loss[i] = -w * logp[(s * d.c + t) * d.inner + j];
    wsum[i] = w;
  }
}

// Thread e handles dlogp element e = (s, k, j): the target's gradient or 0.
__global__ void nll_backward_kernel(NllDesc d, const int64_t* __restrict__ target,
                                    const float* __restrict__ weight,
                                    const float* __restrict__ dloss, float* __restrict__ dlogp) {
  const int64_t count = d.n * d.c * d.inner;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < count; e += stride) {
    const int64_t j = e % d.inner, k = (e / d.inner) % d.c, s = e / (d.inner * d.c);
    const int64_t at = s * d.inner + j;
    const int64_t t = target[at];
    float g = 0.0f;
    if (t == k && t != d.ignore_index) g = -(weight ? weight[t] : 1.0f) * dloss[at];
    dlogp[e] = g;
  }
}

// The log-sum-exp over the c classes of position (s, j): max plus the log of the shifted sum.
__device__ float log_sum_exp(const NllDesc& d, const float* x, int64_t base) {
  float m = -INFINITY;
  for (int64_t k = 0; k < d.c; ++k) m = fmaxf(m, x[base + k * d.inner]);
  float sum = 0.0f;
  for (int64_t k = 0; k < d.c; ++k) sum += expf(x[base + k * d.inner] - m);
  return m + logf(sum);
}

// Thread i handles target position i = (s, j): log-softmax, the target term and smoothing.
__global__ void cross_entropy_forward_kernel(NllDesc d, float eps, const float* __restrict__ x,
                                             const int64_t* __restrict__ target,
                                             const float* __restrict__ weight,
                                             float* __restrict__ loss, float* __restrict__ wsum) {
  const int64_t count = d.n * d.inner;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    const int64_t t = target[i];
    if (t == d.ignore_index || out_of_range(d, t)) {
      loss[i] = t == d.ignore_index ? 0.0f : NAN;
      wsum[i] = 0.0f;
      continue;
    }
    const int64_t base = (i / d.inner) * d.c * d.inner + i % d.inner;
    const float lse = log_sum_exp(d, x, base);
    const float w = weight ? weight[t] : 1.0f;
    const float nll = -w * (x[base + t * d.inner] - lse);
    float out = nll;
    if (eps != 0.0f) {
      float smooth = 0.0f;
      for (int64_t k = 0; k < d.c; ++k)
        smooth += (weight ? weight[k] : 1.0f) * (x[base + k * d.inner] - lse);
      out = nll * (1.0f - eps) + -smooth * (eps / float(d.c));
    }
    loss[i] = out;
    wsum[i] = w;
  }
}

// Thread i handles target position i = (s, j): softmax times the total upstream weight, minus
// the target's and the smoothing's direct terms (formula in loss.h).
__global__ void cross_entropy_backward_kernel(NllDesc d, float eps, const float* __restrict__ x,
                                              const int64_t* __restrict__ target,
                                              const float* __restrict__ weight,
                                              const float* __restrict__ dloss,
                                              float* __restrict__ dx) {
  const int64_t count = d.n * d.inner;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    const int64_t t = target[i];
    const int64_t base = (i / d.inner) * d.c * d.inner + i % d.inner;
    if (t == d.ignore_index || out_of_range(d, t)) {
      const float g = t == d.ignore_index ? 0.0f : NAN;
      for (int64_t k = 0; k < d.c; ++k) dx[base + k * d.inner] = g;
      continue;
    }
    const float lse = log_sum_exp(d, x, base);
    const float g = dloss[i];
    float total_w = float(d.c);
    if (weight) {
      total_w = 0.0f;
      for (int64_t k = 0; k < d.c; ++k) total_w += weight[k];
    }
    const float wt = weight ? weight[t] : 1.0f;
    const float target_part = (1.0f - eps) * wt;
    const float all = target_part + eps * total_w / float(d.c);
    for (int64_t k = 0; k < d.c; ++k) {
      const float p = expf(x[base + k * d.inner] - lse);
      float direct = eps * (weight ? weight[k] : 1.0f) / float(d.c);
      if (k == t) direct += target_part;
      dx[base + k * d.inner] = g * (p * all - direct);
    }
  }
}

// Element i: the target, or ignore_index where the padding weight keep is 0.
__global__ void mask_targets_kernel(int64_t n, const int64_t* __restrict__ target,
                                    const float* __restrict__ keep, int64_t ignore_index,
                                    int64_t* __restrict__ out) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    out[i] = keep[i] == 0.0f ? ignore_index : target[i];
}

// Element i = (s, t) of the (n, steps) weights: 1 for t < lengths[s], else 0; NaN for a length
// outside [0, steps], whose sample lands in *first_bad.
__global__ void length_padding_kernel(int64_t n, int64_t steps, const int64_t* __restrict__ lengths,
                                      float* __restrict__ keep, unsigned long long* first_bad) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n * steps; i += stride) {
    const int64_t s = i / steps, t = i % steps, len = lengths[s];
    const bool bad = len < 0 || len > steps;
    if (bad && t == 0) atomicMin(first_bad, (unsigned long long)s);
    keep[i] = bad ? NAN : (t < len ? 1.0f : 0.0f);
  }
}

// Element i of a u8 (0 or 1) or f32 (finite, >= 0) mask as an f32 weight; NaN for any other
// value, whose position lands in *first_bad.
__global__ void mask_padding_kernel(int64_t n, const uint8_t* __restrict__ mask_u8,
                                    const float* __restrict__ mask_f32, float* __restrict__ keep,
                                    unsigned long long* first_bad) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float v = mask_u8 ? float(mask_u8[i]) : mask_f32[i];
    const bool ok = mask_u8 ? mask_u8[i] <= 1 : (v >= 0.0f && v < INFINITY);
    if (!ok) atomicMin(first_bad, (unsigned long long)i);
    keep[i] = ok ? v : NAN;
  }
}

// Element i of BCE with logits (formula in loss.h); optional operands are null for ones.
__global__ void bce_forward_kernel(int64_t n, const float* __restrict__ x,
                                   const float* __restrict__ y, const float* __restrict__ w,
                                   const float* __restrict__ pw, const float* __restrict__ m,
                                   float* __restrict__ loss) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float v = x[i], t = y[i];
    const float softplus_neg = log1pf(expf(-fabsf(v))) + fmaxf(-v, 0.0f);
    const float pos = pw ? (pw[i] - 1.0f) * t + 1.0f : 1.0f;
    float l = (1.0f - t) * v + pos * softplus_neg;
    if (w) l = l * w[i];
    if (m) l = l * m[i];
    loss[i] = l;
  }
}

// Element i of the BCE with logits backward (formula in loss.h).
__global__ void bce_backward_kernel(int64_t n, const float* __restrict__ x,
                                    const float* __restrict__ y, const float* __restrict__ w,
                                    const float* __restrict__ pw, const float* __restrict__ m,
                                    const float* __restrict__ dloss, float* __restrict__ dx) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float v = x[i], t = y[i];
    const float pos = pw ? (pw[i] - 1.0f) * t + 1.0f : 1.0f;
    const float sigmoid_neg = 1.0f / (1.0f + expf(v));  // 1 - sigmoid(v)
    float g = dloss[i] * ((1.0f - t) - pos * sigmoid_neg);
    if (w) g = g * w[i];
    if (m) g = g * m[i];
    dx[i] = g;
  }
}

// Blocks for n threads' work: one per kThreads, at most 4096 (grid-stride beyond).
int blocks_for(int64_t n) {
  const int64_t wanted = (n + kThreads - 1) / kThreads;
  return int(wanted < 4096 ? wanted : 4096);
}

}  // namespace

// An empty problem launches nothing.
cudaError_t class_target_check(const NllDesc& d, const int64_t* target, uint64_t* first_bad) {
  const int64_t n = d.n * d.inner;
  if (n == 0) return cudaSuccess;
  launch_kernel(class_target_check_kernel, blocks_for(n), kThreads, 0, current_stream(), d, target,
                reinterpret_cast<unsigned long long*>(first_bad));
  return cudaGetLastError();
}

// An empty problem launches nothing.
cudaError_t nll_forward_f32(const NllDesc& d, const float* logp, const int64_t* target,
                            const float* weight, float* loss, float* wsum) {
  const int64_t n = d.n * d.inner;
  if (n == 0) return cudaSuccess;
  launch_kernel(nll_forward_kernel, blocks_for(n), kThreads, 0, current_stream(), d, logp, target,
                weight, loss, wsum);
  return cudaGetLastError();
}

// An empty problem launches nothing.
cudaError_t nll_backward_f32(const NllDesc& d, const int64_t* target, const float* weight,
                             const float* dloss, float* dlogp) {
  const int64_t n = d.n * d.c * d.inner;
  if (n == 0) return cudaSuccess;
  launch_kernel(nll_backward_kernel, blocks_for(n), kThreads, 0, current_stream(), d, target,
                weight, dloss, dlogp);
  return cudaGetLastError();
}

// An empty problem launches nothing.
cudaError_t cross_entropy_forward_f32(const NllDesc& d, float eps, const float* x,
                                      const int64_t* target, const float* weight, float* loss,
                                      float* wsum) {
  const int64_t n = d.n * d.inner;
  if (n == 0) return cudaSuccess;
  launch_kernel(cross_entropy_forward_kernel, blocks_for(n), kThreads, 0, current_stream(), d, eps,
                x, target, weight, loss, wsum);
  return cudaGetLastError();
}

// An empty problem launches nothing.
cudaError_t cross_entropy_backward_f32(const NllDesc& d, float eps, const float* x,
                                       const int64_t* target, const float* weight,
                                       const float* dloss, float* dx) {
  const int64_t n = d.n * d.inner;
  if (n == 0) return cudaSuccess;
  launch_kernel(cross_entropy_backward_kernel, blocks_for(n), kThreads, 0, current_stream(), d, eps,
                x, target, weight, dloss, dx);
  return cudaGetLastError();
}

// An empty input launches nothing.
cudaError_t bce_with_logits_forward_f32(int64_t n, const float* x, const float* y, const float* w,
                                        const float* pw, const float* m, float* loss) {
  if (n == 0) return cudaSuccess;
  launch_kernel(bce_forward_kernel, blocks_for(n), kThreads, 0, current_stream(), n, x, y, w, pw, m,
                loss);
  return cudaGetLastError();
}

// An empty input launches nothing.
cudaError_t bce_with_logits_backward_f32(int64_t n, const float* x, const float* y, const float* w,
                                         const float* pw, const float* m, const float* dloss,
                                         float* dx) {
  if (n == 0) return cudaSuccess;
  launch_kernel(bce_backward_kernel, blocks_for(n), kThreads, 0, current_stream(), n, x, y, w, pw,
                m, dloss, dx);
  return cudaGetLastError();
}

// An empty target launches nothing.
cudaError_t mask_targets_i64(int64_t n, const int64_t* target, const float* keep,
                             int64_t ignore_index, int64_t* out) {
  if (n == 0) return cudaSuccess;
  launch_kernel(mask_targets_kernel, blocks_for(n), kThreads, 0, current_stream(), n, target, keep,
                ignore_index, out);
  return cudaGetLastError();
}

// An empty batch launches nothing.
cudaError_t length_padding_f32(int64_t n, int64_t steps, const int64_t* lengths, float* keep,
                               uint64_t* first_bad) {
  if (n * steps == 0) return cudaSuccess;
  launch_kernel(length_padding_kernel, blocks_for(n * steps), kThreads, 0, current_stream(), n,
                steps, lengths, keep, reinterpret_cast<unsigned long long*>(first_bad));
  return cudaGetLastError();
}

// An empty mask launches nothing.
cudaError_t mask_padding_f32(int64_t n, const uint8_t* mask_u8, const float* mask_f32, float* keep,
                             uint64_t* first_bad) {
  if (n == 0) return cudaSuccess;
  launch_kernel(mask_padding_kernel, blocks_for(n), kThreads, 0, current_stream(), n, mask_u8,
                mask_f32, keep, reinterpret_cast<unsigned long long*>(first_bad));
  return cudaGetLastError();
}

}  // namespace signet::cuda
