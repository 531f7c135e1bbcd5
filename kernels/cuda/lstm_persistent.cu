// The persistent LSTM forward: one cooperative kernel for all steps (lstm_persistent.h).
#include "kernels/cuda/lstm_persistent.h"

#include <map>
#include <mutex>

#include "kernels/common/lstm_cell.h"
#include "kernels/cuda/stream.h"

namespace signet::cuda {
namespace {

constexpr int kMaxThreads = 256;
constexpr int64_t kChunk = 128;
constexpr size_t kDefaultSharedBytes = 48 << 10;

// Row stride in shared memory: a width rounded up to odd, so that threads reading different rows
// at the same column fall into different banks.
__host__ __device__ int64_t padded(int64_t width) {
  return width | 1;
}

// All steps of one layer; block k owns units [k units, k units + units) (see the header). Shared
// memory: w_s (4 units, ld) with row g units + u holding W_hh row g H + j0 + u; h_s (N, ldc), one
// chunk of kChunk columns of h_{t-1} at a time; acc_s (units N, 4) the recurrent sums carried
// from one chunk to the next, so the sum runs over k in order whatever the chunking.
__global__ void __launch_bounds__(kMaxThreads)
    lstm_persistent_kernel(LstmSeqDesc d, int64_t units, const int64_t* lengths, const float* w_hh,
                           LstmSeqForward out) {
  SIGNET_DYNAMIC_SHARED(float, smem);
  const int64_t T = d.steps, N = d.batch, H = d.hidden, G = 4 * H, ld = padded(H);
  const int64_t chunk = H < kChunk ? H : kChunk, ldc = padded(chunk);
  const int64_t j0 = int64_t(blockIdx.x) * units;
  const int64_t mine = units < H - j0 ? units : H - j0;
  float* w_s = smem;
  float* h_s = w_s + 4 * units * ld;
  float* acc_s = h_s + N * ldc;
  for (int64_t e = threadIdx.x; e < 4 * mine * H; e += blockDim.x) {
    const int64_t r = e / H, k = e - r * H, g = r / mine, u = r - g * mine;
    w_s[(g * units + u) * ld + k] = w_hh[(g * H + j0 + u) * H + k];
  }
  const cooperative_groups::grid_group grid = cooperative_groups::this_grid();
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = d.reverse ? T - 1 - s : s;
    const int64_t prev = d.reverse ? t + 1 : t, next = d.reverse ? t : t + 1;
    const float* h_prev = out.hbuf + prev * N * H;
    const float* c_prev = out.cbuf + prev * N * H;
    // The recurrent products in the v3 GEMM's order: fused multiply-adds over k from 0.
    for (int64_t k0 = 0; k0 < H; k0 += chunk) {
      const int64_t width = chunk < H - k0 ? chunk : H - k0;
      for (int64_t e = threadIdx.x; e < N * width; e += blockDim.x) {
        const int64_t b = e / width, kk = e - b * width;
        h_s[b * ldc + kk] = h_prev[b * H + k0 + kk];
      }
      __syncthreads();
      for (int64_t item = threadIdx.x; item < mine * N; item += blockDim.x) {
        const int64_t u = item / N, b = item - u * N;
        const float* hr = h_s + b * ldc;
        const float *wi = w_s + u * ld + k0, *wf = wi + units * ld, *wg = wf + units * ld,
                    *wo = wg + units * ld;
        float* acc = acc_s + 4 * item;
        float ri = k0 ? acc[0] : 0.0f, rf = k0 ? acc[1] : 0.0f, rg = k0 ? acc[2] : 0.0f,
              ro = k0 ? acc[3] : 0.0f;
        for (int64_t kk = 0; kk < width; ++kk) {
          const float hv = hr[kk];
          ri = fmaf(hv, wi[kk], ri);
          rf = fmaf(hv, wf[kk], rf);
          rg = fmaf(hv, wg[kk], rg);
          ro = fmaf(hv, wo[kk], ro);
        }
        acc[0] = ri;
        acc[1] = rf;
        acc[2] = rg;
        acc[3] = ro;
      }
      __syncthreads();
    }
    // The cell of each (unit, row) the block owns.
    for (int64_t item = threadIdx.x; item < mine * N; item += blockDim.x) {
      const int64_t u = item / N, b = item - u * N, k = b * H + j0 + u;
      float* a = out.act + (t * N + b) * G + j0 + u;
      float* y = out.y ? out.y + t * N * H : nullptr;
      if (!kernels::lstm_row_active({N, H, t}, lengths, b)) {
        a[0] = a[H] = a[2 * H] = a[3 * H] = 0.0f;
        out.cbuf[next * N * H + k] = c_prev[k];
        out.hbuf[next * N * H + k] = h_prev[k];
        if (y) y[k] = 0.0f;
        continue;
      }
      const float* acc = acc_s + 4 * item;
      float i, f, g, o;
      kernels::lstm_gates(acc[0] + a[0], acc[1] + a[H], acc[2] + a[2 * H], acc[3] + a[3 * H], i, f,
                          g, o);
      a[0] = i;
      a[H] = f;
      a[2 * H] = g;
      a[3 * H] = o;
      float c, h;
      kernels::lstm_state(i, f, g, o, c_prev[k], c, h);
      out.cbuf[next * N * H + k] = c;
      out.hbuf[next * N * H + k] = h;
      if (y) y[k] = h;
    }
    if (s + 1 < T) grid.sync();
  }
}

// What the plan reads of the current device, queried once per device.
struct DeviceLimits {
  int sms = 0;
  size_t shared_per_block = 0;
};

// The current device's limits (cached), or the failing query's status.
cudaError_t device_limits(DeviceLimits* out) {
  static std::mutex mutex;
  static std::map<int, DeviceLimits> cache;
  int device = 0;
  const cudaError_t e = cudaGetDevice(&device);
  if (e != cudaSuccess) return e;
  const std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(device);
  if (it == cache.end()) {
    cudaDeviceProp prop;
    const cudaError_t q = cudaGetDeviceProperties(&prop, device);
    if (q != cudaSuccess) return q;
    it = cache.emplace(device, DeviceLimits{prop.multiProcessorCount, prop.sharedMemPerBlockOptin})
             .first;
  }
  *out = it->second;
  return cudaSuccess;
}

}  // namespace

cudaError_t lstm_persistent_plan(int64_t batch, int64_t hidden, int64_t units,
                                 LstmPersistentPlan* plan) {
  if (batch < 1 || batch > kLstmPersistentMaxBatch || hidden < 1 || units < 0)
    return cudaErrorInvalidValue;
  DeviceLimits lim;
  const cudaError_t e = device_limits(&lim);
  if (e != cudaSuccess) return e;
  const int64_t sms = lim.sms > 0 ? lim.sms : 1;
  int64_t u = units > 0 ? units : (hidden + sms - 1) / sms;
  if (u > hidden) u = hidden;
  const int64_t items = u * batch, threads = (items + 31) / 32 * 32;
  LstmPersistentPlan p;
  p.units = u;
  p.blocks = int((hidden + u - 1) / u);
  p.threads = int(threads < kMaxThreads ? threads : kMaxThreads);
  const int64_t chunk = hidden < kChunk ? hidden : kChunk;
  p.shared_bytes =
      size_t(4 * u * padded(hidden) + batch * padded(chunk) + 4 * u * batch) * sizeof(float);
  if (p.shared_bytes > lim.shared_per_block) return cudaErrorInvalidConfiguration;
  *plan = p;
  return cudaSuccess;
}

bool lstm_persistent_fits(int64_t batch, int64_t hidden) {
  LstmPersistentPlan plan;
  return lstm_persistent_plan(batch, hidden, 0, &plan) == cudaSuccess;
}

cudaError_t lstm_persistent_steps_f32(const LstmSeqDesc& d, const int64_t* lengths,
                                      const float* w_hh, const LstmSeqForward& out, int64_t units) {
  if (d.steps == 0 || d.batch == 0 || d.hidden == 0) return cudaSuccess;
  LstmPersistentPlan plan;
  cudaError_t e = lstm_persistent_plan(d.batch, d.hidden, units, &plan);
  if (e != cudaSuccess) return e;
  if (plan.shared_bytes > kDefaultSharedBytes)
    e = cudaFuncSetAttribute(lstm_persistent_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             int(plan.shared_bytes));
  if (e != cudaSuccess) return e;
  return launch_cooperative_kernel(lstm_persistent_kernel, plan.blocks, plan.threads,
                                   plan.shared_bytes, current_stream(), d, plan.units, lengths,
                                   w_hh, out);
}

cudaError_t lstm_persistent_forward_f32(const LstmSeqDesc& d, const int64_t* lengths,
                                        const float* x, const float* w_ih, const float* w_hh,
                                        const float* bias, const float* h0, const float* c0,
                                        const LstmSeqForward& out, int64_t units) {
  LstmPersistentPlan plan;
  cudaError_t e = d.steps == 0 || d.batch == 0 || d.hidden == 0
                      ? cudaSuccess
                      : lstm_persistent_plan(d.batch, d.hidden, units, &plan);
  if (e == cudaSuccess) e = lstm_seq_input_f32(d, x, w_ih, bias, h0, c0, out);
  if (e != cudaSuccess) return e;
  return lstm_persistent_steps_f32(d, lengths, w_hh, out, units);
}

}  // namespace signet::cuda
