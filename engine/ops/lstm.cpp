#include "engine/ops/lstm.h"

#include <optional>
#include <utility>
#include <vector>

#include "engine/autograd.h"
#include "engine/cuda_kernels.h"
#include "engine/dispatch.h"
#include "engine/ops/elementwise.h"
#include "engine/packed_cache.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_prepacked.h"
#include "kernels/cpu/lstm_cell.h"
#include "kernels/cpu/lstm_steps.h"
#include "kernels/cpu/threads.h"
#include "kernels/reference/gemm.h"
#include "kernels/reference/lstm.h"

namespace signet {
namespace {

using kernels::GemmDesc;
using kernels::LstmCellDesc;
using Grads = std::vector<Tensor>;
using GemmFn = void (*)(const GemmDesc&, const void*, const void*, void*);
using CellFn = void (*)(const LstmCellDesc&, const int64_t*, const void*, const void*, const void*,
                        void*, void*, void*, void*);
using CellBackwardFn = void (*)(const LstmCellDesc&, const int64_t*, const void*, const void*,
                                const void*, const void*, void*, void*, void*);

// Adapts ref::gemm<T> to the untyped dispatch signature.
template <class T>
void gemm_ref(const GemmDesc& d, const void* a, const void* b, void* c) {
  ref::gemm<T>(d, static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(c));
}

// v2: the packed SGEMM (kernels/cpu/gemm.h) on the active SIMD path; its panels live in a u8
// workspace tensor from the caching allocator, sized by sgemm_workspace_bytes. Measured on L1
// fwd_infer, 1 thread, loaded machine: 0.65 GFLOP/s with v1, 87 with v2 (bench/bench_rnn.cpp).
void gemm_v2_packed(const GemmDesc& d, const void* a, const void* b, void* c) {
  const int threads = cpu::default_threads();
  Tensor ws = empty({static_cast<int64_t>(cpu::sgemm_workspace_bytes(d, threads))}, DType::u8);
  cpu::sgemm_v3_packed(d, static_cast<const float*>(a), static_cast<const float*>(b),
                       static_cast<float*>(c), ws.raw_data(), threads, cpu::active_simd_path());
}

// v4: the SGEMM that packs B once per block and shares it between threads (gemm.h), for the
// sequence-long products (input projection, weight gradients, the input gradient).
void gemm_v4_shared(const GemmDesc& d, const void* a, const void* b, void* c) {
  const int threads = cpu::default_threads();
  Tensor ws = empty({static_cast<int64_t>(cpu::sgemm_v4_workspace_bytes(d, threads))}, DType::u8);
  cpu::sgemm_v4_shared(d, static_cast<const float*>(a), static_cast<const float*>(b),
                       static_cast<float*>(c), ws.raw_data(), threads, cpu::active_simd_path());
}

// Adapts ref::lstm_cell_forward<T> to the untyped dispatch signature.
template <class T>
void cell_ref(const LstmCellDesc& d, const int64_t* lengths, const void* gates, const void* c_prev,
              const void* h_prev, void* act, void* c, void* h, void* y) {
  ref::lstm_cell_forward<T>(d, lengths, static_cast<const T*>(gates), static_cast<const T*>(c_prev),
                            static_cast<const T*>(h_prev), static_cast<T*>(act), static_cast<T*>(c),
                            static_cast<T*>(h), static_cast<T*>(y));
}

// Adapts ref::lstm_cell_backward<T> to the untyped dispatch signature.
template <class T>
void cell_backward_ref(const LstmCellDesc& d, const int64_t* lengths, const void* act,
                       const void* c_prev, const void* c, const void* dy, void* dh, void* dc,
                       void* dgates) {
  ref::lstm_cell_backward<T>(d, lengths, static_cast<const T*>(act), static_cast<const T*>(c_prev),
                             static_cast<const T*>(c), static_cast<const T*>(dy),
                             static_cast<T*>(dh), static_cast<T*>(dc), static_cast<T*>(dgates));
}

// v2: the fused SIMD cell (kernels/cpu/lstm_cell.h) on the active path and the default threads.
void cell_v2_simd(const LstmCellDesc& d, const int64_t* lengths, const void* gates,
                  const void* c_prev, const void* h_prev, void* act, void* c, void* h, void* y) {
  cpu::lstm_cell_forward_v2(d, lengths, static_cast<const float*>(gates),
                            static_cast<const float*>(c_prev), static_cast<const float*>(h_prev),
                            static_cast<float*>(act), static_cast<float*>(c),
                            static_cast<float*>(h), static_cast<float*>(y), cpu::default_threads(),
                            cpu::active_simd_path());
}

// v2: the fused SIMD cell gradient on the active path and the default threads.
void cell_backward_v2_simd(const LstmCellDesc& d, const int64_t* lengths, const void* act,
                           const void* c_prev, const void* c, const void* dy, void* dh, void* dc,
                           void* dgates) {
  cpu::lstm_cell_backward_v2(d, lengths, static_cast<const float*>(act),
                             static_cast<const float*>(c_prev), static_cast<const float*>(c),
                             static_cast<const float*>(dy), static_cast<float*>(dh),
                             static_cast<float*>(dc), static_cast<float*>(dgates),
                             cpu::default_threads(), cpu::active_simd_path());
}

// C (m, n) = op(A) op(B) + beta C for gapless row-major A, B, C, through "lstm_gemm".
void gemm(Device dev, DType dt, int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b,
          double beta, const void* a, const void* b, void* c) {
  static const dispatch::Op<GemmFn, GemmDesc> op{
      "lstm_gemm",
      {{"v4_shared", Device::Type::cpu, {{DType::f32, &gemm_v4_shared}}},
       {"v2_packed", Device::Type::cpu, {{DType::f32, &gemm_v2_packed}}},
       {"v1_reference",
        Device::Type::cpu,
        {{DType::f32, &gemm_ref<float>}, {DType::f64, &gemm_ref<double>}}},
       {"v3_cuda_register", Device::Type::cuda, {{DType::f32, &cuda_gemm_v3_f32}}}}};
  const GemmDesc d = kernels::row_major_gemm(m, n, k, trans_a, trans_b, beta);
  op.run(dev, dt, d, d, a, b, c);
}

// The recurrent weight as the step GEMMs of one sequence call read it: the stored matrix, op(W)
// packed once (v3_prepacked, v4_transposed) and that version's workspace.
struct StepWeight {
  const void* raw = nullptr;
  const void* packed = nullptr;
  void* workspace = nullptr;
  int threads = 1;
};
using StepGemmFn = void (*)(const GemmDesc&, const void*, const StepWeight&, void*);
using PackFn = void (*)(const GemmDesc&, const void*, void*, int);

// v3: the step product on op(W) packed once per sequence call (kernels/cpu/gemm_prepacked.h).
// Measured (bench_rnn, CPU time at t1, loaded machine, paired with v2 in the same minutes): L1
// fwd_infer 96 ms (v2: 136-153), fwd_bwd 262-279 ms (v2: 325-370).
void step_v3_prepacked(const GemmDesc& d, const void* a, const StepWeight& w, void* c) {
  cpu::sgemm_prepacked(d, static_cast<const float*>(a), static_cast<const float*>(w.packed),
                       static_cast<float*>(c), w.workspace, w.threads, cpu::active_simd_path());
}

// v4: the step product transposed, W h^T, on op(W)^T packed once per sequence call as MR-row
// slivers (kernels/cpu/gemm_prepacked.h): the batch of 32 fills one 32-column tile exactly
// instead of 36 rows of 12-row tiles. Measured (bench_rnn L1, t1, load 2.2-3.5, alternating runs
// with v3 forced): fwd_bwd 233-243 ms (v3: 246-272), fwd_infer 80-84 ms (v3: 86-111).
void step_v4_transposed(const GemmDesc& d, const void* a, const StepWeight& w, void* c) {
  cpu::sgemm_prepacked_t(d, static_cast<const float*>(a), static_cast<const float*>(w.packed),
                         static_cast<float*>(c), w.workspace, w.threads, cpu::active_simd_path());
}

// v2: the packed SGEMM on the stored W, which it repacks on every step (the previous default).
void step_v2_packed(const GemmDesc& d, const void* a, const StepWeight& w, void* c) {
  gemm_v2_packed(d, a, w.raw, c);
}

// Adapts ref::gemm<T> to the step signature.
template <class T>
void step_ref(const GemmDesc& d, const void* a, const StepWeight& w, void* c) {
  gemm_ref<T>(d, a, w.raw, c);
}

// Adapts the CUDA register-tiled GEMM to the step signature.
void step_cuda(const GemmDesc& d, const void* a, const StepWeight& w, void* c) {
  cuda_gemm_v3_f32(d, a, w.raw, c);
}

// Packs op(W) into the micro-kernel slivers of the active SIMD path.
void pack_v1_slivers(const GemmDesc& d, const void* w, void* packed, int threads) {
  cpu::sgemm_pack_b(d, static_cast<const float*>(w), static_cast<float*>(packed), threads,
                    cpu::active_simd_path());
}

// Packs op(W)^T into the MR-row slivers of the active SIMD path (v4_transposed's operand).
void pack_v1_transposed(const GemmDesc& d, const void* w, void* packed, int threads) {
  cpu::sgemm_pack_bt(d, static_cast<const float*>(w), static_cast<float*>(packed), threads,
                     cpu::active_simd_path());
}

// The names of the step versions that read the weight packed once per sequence call.
constexpr const char* kPrepacked = "v3_prepacked";
constexpr const char* kTransposed = "v4_transposed";

// What selects a step version: how many step products one packing of W would serve, and the
// product's shape.
struct StepGemmDesc {
  int64_t steps = 0;
  GemmDesc gemm;
};

// v3_prepacked's rule: at least two steps (for one, packing all of W first and reading it back
// costs more than v2's cache-blocked pack-as-you-go).
bool several_steps(const StepGemmDesc& d) {
  return d.steps >= 2;
}

// v4_transposed's rule: several steps and fewer padded tile elements than v3 (m = 32 on the
// 12 x 32 AVX-512 tile: 32 rows instead of 36).
bool several_steps_transposed_pads_less(const StepGemmDesc& d) {
  return several_steps(d) && cpu::sgemm_prepacked_t_pads_less(d.gemm, cpu::active_simd_path());
}

// The `steps` recurrent products of one sequence call, C (m, n) += A (m, k) op(W) each: the
// "lstm_step_gemm" version is selected once; v3_prepacked packs op(W) once here ("lstm_step_pack"
// in the profile; v4_transposed: op(W)^T, "lstm_step_pack_t") instead of on every step (v2_packed
// repacked the 16 MiB W_hh of L1 per step).
class StepGemm {
 public:
  StepGemm(Device dev, DType dt, int64_t steps, int64_t m, int64_t n, int64_t k, bool trans_b,
           const Tensor& w)
      : desc_(kernels::row_major_gemm(m, n, k, false, trans_b, 1.0)),
        sel_(op().select(dev, dt, {steps, desc_})) {
    w_.raw = w.raw_data();
    const bool transposed = *sel_.impl == kTransposed;
    if (*sel_.impl != kPrepacked && !transposed) return;
    static const dispatch::Op<PackFn> pack{
        "lstm_step_pack", {{"v1_slivers", Device::Type::cpu, {{DType::f32, &pack_v1_slivers}}}}};
    static const dispatch::Op<PackFn> pack_t{
        "lstm_step_pack_t",
        {{"v1_transposed", Device::Type::cpu, {{DType::f32, &pack_v1_transposed}}}}};
    const cpu::SimdPath path = cpu::active_simd_path();
    w_.threads = cpu::default_threads();
    const size_t floats = transposed ? cpu::sgemm_packed_bt_floats(desc_, path)
                                     : cpu::sgemm_packed_b_floats(desc_, path);
    const size_t bytes = transposed
                             ? cpu::sgemm_prepacked_t_workspace_bytes(desc_, w_.threads, path)
                             : cpu::sgemm_prepacked_workspace_bytes(desc_, w_.threads, path);
    packed_ = empty({static_cast<int64_t>(floats)}, dt);
    workspace_ = empty({static_cast<int64_t>(bytes)}, DType::u8);
    (transposed ? pack_t : pack).run(dev, dt, {}, desc_, w_.raw, packed_.raw_data(), w_.threads);
    w_.packed = packed_.raw_data();
    w_.workspace = workspace_.raw_data();
  }

  // C (m, n) += A (m, k) op(W) for one step.
  void operator()(const void* a, void* c) const {
    dispatch::ProfileScope scope(sel_.op, sel_.impl);
    sel_.fn(desc_, a, w_, c);
  }

 private:
  static const dispatch::Op<StepGemmFn, StepGemmDesc>& op() {
    static const dispatch::Op<StepGemmFn, StepGemmDesc> step{
        "lstm_step_gemm",
        {{kTransposed,
          Device::Type::cpu,
          {{DType::f32, &step_v4_transposed}},
          &several_steps_transposed_pads_less},
         {kPrepacked, Device::Type::cpu, {{DType::f32, &step_v3_prepacked}}, &several_steps},
         {"v2_packed", Device::Type::cpu, {{DType::f32, &step_v2_packed}}},
         {"v1_reference",
          Device::Type::cpu,
          {{DType::f32, &step_ref<float>}, {DType::f64, &step_ref<double>}}},
         {"v3_cuda_register", Device::Type::cuda, {{DType::f32, &step_cuda}}}}};
    return step;
  }

  GemmDesc desc_;
  dispatch::Selected<StepGemmFn> sel_;
  StepWeight w_;
  Tensor packed_, workspace_;
};

// The fused cell step through the "lstm_cell" dispatch entry.
void cell_forward(Device dev, DType dt, const LstmCellDesc& d, const int64_t* lengths,
                  const void* gates, const void* c_prev, const void* h_prev, void* act, void* c,
                  void* h, void* y) {
  static const dispatch::Op<CellFn, LstmCellDesc> op{
      "lstm_cell",
      {{"v2_simd", Device::Type::cpu, {{DType::f32, &cell_v2_simd}}},
       {"v1_reference",
        Device::Type::cpu,
        {{DType::f32, &cell_ref<float>}, {DType::f64, &cell_ref<double>}}},
       {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_lstm_cell_forward_f32}}}}};
  op.run(dev, dt, d, d, lengths, gates, c_prev, h_prev, act, c, h, y);
}

// Adapts ref::lstm_cell_forward_sum<T> to the untyped dispatch signature.
template <class T>
void cell_sum_ref(const LstmCellDesc& d, const int64_t* lengths, const void* gates,
                  const void* gates2, const void* c_prev, const void* h_prev, void* act, void* c,
                  void* h, void* y) {
  ref::lstm_cell_forward_sum<T>(d, lengths, static_cast<const T*>(gates),
                                static_cast<const T*>(gates2), static_cast<const T*>(c_prev),
                                static_cast<const T*>(h_prev), static_cast<T*>(act),
                                static_cast<T*>(c), static_cast<T*>(h), static_cast<T*>(y));
}

// v2: the fused SIMD cell reading two pre-activation sums, on the active path.
void cell_sum_v2_simd(const LstmCellDesc& d, const int64_t* lengths, const void* gates,
                      const void* gates2, const void* c_prev, const void* h_prev, void* act,
                      void* c, void* h, void* y) {
  cpu::lstm_cell_forward_sum_v2(
      d, lengths, static_cast<const float*>(gates), static_cast<const float*>(gates2),
      static_cast<const float*>(c_prev), static_cast<const float*>(h_prev),
      static_cast<float*>(act), static_cast<float*>(c), static_cast<float*>(h),
      static_cast<float*>(y), cpu::default_threads(), cpu::active_simd_path());
}

using CellSumFn = void (*)(const LstmCellDesc&, const int64_t*, const void*, const void*,
                           const void*, const void*, void*, void*, void*, void*);

// The fused cell on gates + gates2 through the "lstm_cell_sum" dispatch entry (CPU only).
void cell_sum_forward(DType dt, const LstmCellDesc& d, const int64_t* lengths, const void* gates,
                      const void* gates2, const void* c_prev, const void* h_prev, void* act,
                      void* c, void* h, void* y) {
  static const dispatch::Op<CellSumFn, LstmCellDesc> op{
      "lstm_cell_sum",
      {{"v2_simd", Device::Type::cpu, {{DType::f32, &cell_sum_v2_simd}}},
       {"v1_reference",
        Device::Type::cpu,
        {{DType::f32, &cell_sum_ref<float>}, {DType::f64, &cell_sum_ref<double>}}}}};
  op.run(Device::cpu(), dt, d, d, lengths, gates, gates2, c_prev, h_prev, act, c, h, y);
}

// The fused cell gradient through the "lstm_cell_backward" dispatch entry.
void cell_backward(Device dev, DType dt, const LstmCellDesc& d, const int64_t* lengths,
                   const void* act, const void* c_prev, const void* c, const void* dy, void* dh,
                   void* dc, void* dgates) {
  static const dispatch::Op<CellBackwardFn, LstmCellDesc> op{
      "lstm_cell_backward",
      {{"v2_simd", Device::Type::cpu, {{DType::f32, &cell_backward_v2_simd}}},
       {"v1_reference",
        Device::Type::cpu,
        {{DType::f32, &cell_backward_ref<float>}, {DType::f64, &cell_backward_ref<double>}}},
       {"v1_cuda", Device::Type::cuda, {{DType::f32, &cuda_lstm_cell_backward_f32}}}}};
  op.run(dev, dt, d, d, lengths, act, c_prev, c, dy, dh, dc, dgates);
}

// Pointer to element `index` of t's storage (t contiguous), or null for an undefined t.
void* at(const Tensor& t, int64_t index) {
  if (!t.defined()) return nullptr;
  return static_cast<char*>(t.raw_data()) + index * static_cast<int64_t>(dtype_size(t.dtype()));
}

// One layer's forward steps over its buffers: act (T, N, 4H) holds the input projection (the
// steps add `bias`) and receives the activated gates, hbuf and cbuf (T + 1, N, H) hold the initial
// state in their first slot (T when reverse), y (T, N, H) is null without lengths; h0_zero: no h0
// was given.
struct LayerSteps {
  Device device = Device::cpu();
  DType dtype = DType::f32;
  int64_t T = 0, N = 0, H = 0;
  bool reverse = false;
  bool h0_zero = false;
  const int64_t* lengths = nullptr;
  const Tensor* w_hh = nullptr;
  const Tensor* bias = nullptr;  // b_ih + b_hh (4H), null without bias; act does not hold it yet
  void *act = nullptr, *hbuf = nullptr, *cbuf = nullptr, *y = nullptr;
};
using StepsFn = void (*)(const LayerSteps&);

// act (T, N, 4H) += the bias row on every (t, n), as a rank-1 GEMM (the strided broadcast copy
// took ~9 ms per L1 forward, bench/bench_rnn.cpp under load); for the versions whose cell does
// not add it.
void add_bias_rows(const LayerSteps& a) {
  if (!a.bias) return;
  gemm(a.device, a.dtype, a.T * a.N, 4 * a.H, 1, false, false, 1.0,
       ones({a.T * a.N, 1}, a.dtype, a.device).raw_data(), a.bias->raw_data(), a.act);
}

// v1: per step the recurrent product ("lstm_step_gemm") and the fused cell ("lstm_cell").
void steps_v1(const LayerSteps& a) {
  const int64_t N = a.N, H = a.H, G = 4 * H, esize = int64_t(dtype_size(a.dtype));
  auto ptr = [esize](void* base, int64_t index) {
    return static_cast<char*>(base) + index * esize;
  };
  add_bias_rows(a);
  const StepGemm step_gemm(a.device, a.dtype, a.T, N, G, H, true, *a.w_hh);
  for (int64_t s = 0; s < a.T; ++s) {
    const int64_t t = a.reverse ? a.T - 1 - s : s;
    const int64_t prev = a.reverse ? t + 1 : t, next = a.reverse ? t : t + 1;
    void* gates = ptr(a.act, t * N * G);
    step_gemm(ptr(a.hbuf, prev * N * H), gates);
    cell_forward(a.device, a.dtype, {N, H, t}, a.lengths, gates, ptr(a.cbuf, prev * N * H),
                 ptr(a.hbuf, prev * N * H), gates, ptr(a.cbuf, next * N * H),
                 ptr(a.hbuf, next * N * H), a.y ? ptr(a.y, t * N * H) : nullptr);
  }
}

// v2: every step in one OpenMP team, each thread the products and cells of its share of the unit
// blocks (the others take from its back when it falls behind), one barrier per step; W_hh packed
// once per version (kernels/cpu/lstm_steps.h, cached: engine/packed_cache.h, so inference and a
// training step's forward and backward of unchanged weights skip the 16 MiB repacking for H =
// 1024, 1.6 ms forward and 1.9 ms backward at t2, a scratch driver); the bias added in the cell;
// the first product skipped when h0 is zero. Measured with v2 backward (forward + backward steps of
// a layer, in-process alternation with the per-step path, OMP_WAIT_POLICY=passive, the runs where
// both cores were free, load 1-4 from other guests, 14:22-14:39): medians L1 t2 50-65 ms vs 59-72
// (-10 to -15%), S t2 83-104 ms vs 129-147 (-30 to -35%); t1 within the host's +-5% noise of the
// per-step path.
void steps_v2_fused(const LayerSteps& a) {
  const cpu::SimdPath path = cpu::active_simd_path();
  const cpu::LstmStepsDesc d{a.T, a.N, a.H, a.reverse};
  const int threads = cpu::lstm_steps_threads(d, cpu::default_threads());
  const Tensor packed = packed_cache().get(
      *a.w_hh, {kLstmStepsForwardPacking, a.H, static_cast<int64_t>(path)},
      cpu::lstm_steps_packed_w_floats(a.H, path) * sizeof(float), [&](float* out) {
        cpu::lstm_steps_pack_w(a.H, static_cast<const float*>(a.w_hh->raw_data()), out, threads,
                               path);
      });
  Tensor ws =
      empty({static_cast<int64_t>(cpu::lstm_steps_workspace_bytes(d, threads, path))}, DType::u8);
  cpu::lstm_steps_forward(d, a.lengths, PackedCache::aligned(packed),
                          a.bias ? static_cast<const float*>(a.bias->raw_data()) : nullptr,
                          a.h0_zero, static_cast<float*>(a.act), static_cast<float*>(a.hbuf),
                          static_cast<float*>(a.cbuf), static_cast<float*>(a.y), ws.raw_data(),
                          threads, path);
}

// v2_cuda_persistent's rule: a batch of at most 32, and each block's rows of W_hh (with a chunk of
// h_{t-1}) in shared memory when the units are spread one block per SM
// (kernels/cuda/lstm_persistent.h).
bool persistent_fits(const LayerSteps& a) {
  return cuda_lstm_persistent_fits(a.N, a.H);
}

// v2: every step in one cooperative kernel that keeps its slice of W_hh in shared memory, a grid
// barrier between steps (kernels/cuda/lstm_persistent.h). GPU time: unmeasured.
void steps_v2_cuda_persistent(const LayerSteps& a) {
  SIGNET_CHECK(persistent_fits(a), "lstm_steps: v2_cuda_persistent does not take batch ", a.N,
               " with hidden ", a.H, " on ", a.device.str(),
               " (batch at most 32, and a block's W_hh rows in shared memory at one block per SM)");
  add_bias_rows(a);
  cuda_lstm_persistent_steps_f32(a.T, a.N, a.H, a.reverse, a.lengths, a.w_hh->raw_data(), a.act,
                                 a.hbuf, a.cbuf, a.y);
}

// Runs one layer's forward steps through the "lstm_steps" dispatch entry.
void layer_steps(const LayerSteps& a) {
  static const dispatch::Op<StepsFn, LayerSteps> op{
      "lstm_steps",
      {{"v2_fused", Device::Type::cpu, {{DType::f32, &steps_v2_fused}}},
       {"v1_steps", Device::Type::cpu, {{DType::f32, &steps_v1}, {DType::f64, &steps_v1}}},
       {"v2_cuda_persistent",
        Device::Type::cuda,
        {{DType::f32, &steps_v2_cuda_persistent}},
        &persistent_fits},
       {"v1_cuda_steps", Device::Type::cuda, {{DType::f32, &steps_v1}}}}};
  op.run(a.device, a.dtype, a, a);
}

// Refuses t unless it is defined with shape want and x's dtype and device.
void check_operand(const char* what, const Tensor& t, const Shape& want, const Tensor& x) {
  SIGNET_CHECK(t.shape() == want, "lstm: ", what, " has shape ", shape_str(t.shape()),
               ", expected ", shape_str(want), " (input ", shape_str(x.shape()), ")");
  SIGNET_CHECK(t.dtype() == x.dtype(), "lstm: ", what, " has dtype ", dtype_name(t.dtype()),
               " but the input has ", dtype_name(x.dtype()));
  SIGNET_CHECK(t.device() == x.device(), "lstm: ", what, " is on ", t.device().str(),
               " but the input is on ", x.device().str());
}

// Checks every argument of lstm_layer and returns the lengths as a vector (empty when none).
std::vector<int64_t> check_layer(const Tensor& x, const LstmWeights& w, const Tensor& h0,
                                 const Tensor& c0, const Tensor& lengths) {
  check_defined("lstm", x);
  check_defined("lstm", w.w_ih);
  check_defined("lstm", w.w_hh);
  check_dtype("lstm", x, {DType::f32, DType::f64});
  SIGNET_CHECK(x.dim() == 3 && x.size(0) >= 1, "lstm: input must be (T, N, I) with T >= 1, got ",
               shape_str(x.shape()));
  SIGNET_CHECK(w.w_hh.dim() == 2 && w.w_hh.size(0) == 4 * w.w_hh.size(1) && w.w_hh.size(1) >= 1,
               "lstm: weight_hh must be (4H, H), got ", shape_str(w.w_hh.shape()));
  const int64_t T = x.size(0), N = x.size(1), I = x.size(2), H = w.w_hh.size(1);
  check_operand("weight_ih", w.w_ih, {4 * H, I}, x);
  check_operand("weight_hh", w.w_hh, {4 * H, H}, x);
  SIGNET_CHECK(w.b_ih.defined() == w.b_hh.defined(),
               "lstm: bias_ih and bias_hh must both be given or both be undefined");
  if (w.b_ih.defined()) {
    check_operand("bias_ih", w.b_ih, {4 * H}, x);
    check_operand("bias_hh", w.b_hh, {4 * H}, x);
  }
  if (h0.defined()) check_operand("h0", h0, {N, H}, x);
  if (c0.defined()) check_operand("c0", c0, {N, H}, x);
  if (!lengths.defined()) return {};
  check_dtype("lstm lengths", lengths, {DType::i64});
  SIGNET_CHECK(lengths.shape() == Shape{N}, "lstm: lengths has shape ", shape_str(lengths.shape()),
               ", expected [", N, "] (one per sample of input ", shape_str(x.shape()), ")");
  std::vector<int64_t> lens = lengths.contiguous().to(Device::cpu()).to_vector<int64_t>();
  for (int64_t b = 0; b < N; ++b)
    SIGNET_CHECK(lens[b] >= 0 && lens[b] <= T, "lstm: lengths[", b, "] = ", lens[b],
                 " is outside [0, ", T, "] for input ", shape_str(x.shape()));
  return lens;
}

// What the backward of one layer needs besides its saved tensors.
struct LayerContext {
  int64_t T = 0, N = 0, I = 0, H = 0;
  DType dtype = DType::f32;
  Device device = Device::cpu();
  bool reverse = false;
  std::vector<int64_t> lengths;
  Tensor lengths_on_device;  // the lengths as i64 on a cuda device (kernels read them there)
  bool need_x = false, need_w = false, need_b = false, need_h0 = false, need_c0 = false;
  bool has_h0 = false;  // an h0 was given (without one, h_prev of the first step is 0)
};

// Gradients of one layer's inputs (undefined where not needed).
struct LayerGrads {
  Tensor x, w_ih, w_hh, bias, h0, c0;
};

// The lengths as the kernels of k's device read them (null when every step is valid).
const int64_t* lengths_for_kernels(const LayerContext& k) {
  if (k.lengths.empty()) return nullptr;
  if (k.device.is_cpu()) return k.lengths.data();
  return static_cast<const int64_t*>(k.lengths_on_device.raw_data());
}

// One layer's backward steps: from dh, dc (the gradients of h_n, c_n) and dy (null when the
// output has none), through the forward's act and cbuf, dgates (T, N, 4H) receives the gates'
// gradients and dh, dc end as those of h0, c0; the first step's product into dh runs only when
// need_h0.
struct LayerBackSteps {
  Device device = Device::cpu();
  DType dtype = DType::f32;
  int64_t T = 0, N = 0, H = 0;
  bool reverse = false, need_h0 = false;
  const int64_t* lengths = nullptr;
  const Tensor* w_hh = nullptr;
  const void *act = nullptr, *cbuf = nullptr, *dy = nullptr;
  void *dh = nullptr, *dc = nullptr, *dgates = nullptr;
  void* dbias = nullptr;  // (4H): receives the column sums of dgates; null when not needed
};
using BackStepsFn = void (*)(const LayerBackSteps&);

// v1: per step the fused cell gradient ("lstm_cell_backward") and the product dG W_hh into dh
// ("lstm_step_gemm").
void back_steps_v1(const LayerBackSteps& a) {
  const int64_t T = a.T, N = a.N, H = a.H, G = 4 * H, esize = int64_t(dtype_size(a.dtype));
  auto ptr = [esize](const void* base, int64_t index) {
    return const_cast<char*>(static_cast<const char*>(base)) + index * esize;
  };
  std::optional<StepGemm> step_gemm;
  const int64_t steps = T - 1 + (a.need_h0 ? 1 : 0);
  if (steps > 0) step_gemm.emplace(a.device, a.dtype, steps, N, H, G, false, *a.w_hh);
  for (int64_t step = T - 1; step >= 0; --step) {
    const int64_t t = a.reverse ? T - 1 - step : step;
    const int64_t prev = a.reverse ? t + 1 : t, next = a.reverse ? t : t + 1;
    cell_backward(a.device, a.dtype, {N, H, t}, a.lengths, ptr(a.act, t * N * G),
                  ptr(a.cbuf, prev * N * H), ptr(a.cbuf, next * N * H),
                  a.dy ? ptr(a.dy, t * N * H) : nullptr, a.dh, a.dc, ptr(a.dgates, t * N * G));
    if (step > 0 || a.need_h0) (*step_gemm)(ptr(a.dgates, t * N * G), a.dh);
  }
  // The column sums of dgates as one GEMM, ones (1, T N) dgates (the reference sum took ~18 ms on
  // L1, bench/bench_rnn.cpp under load).
  if (a.dbias)
    gemm(a.device, a.dtype, 1, G, T * N, false, false, 0.0,
         ones({1, T * N}, a.dtype, a.device).raw_data(), a.dgates, a.dbias);
}

// v2: every step in one OpenMP team, each thread the dh products and cell gradients of its share
// of the unit blocks (taken from the back by the others when it falls behind), one barrier per
// step (kernels/cpu/lstm_steps.h; W_hh's backward packing cached per version as the forward's);
// the bias gradient from per-step column sums taken in the cell
// pass and added over t here (v1's GEMM with a ones row runs at m = 1, ~4 GFLOP/s: 1.2 ms of L1's
// and 3.9 ms of S's fwd_bwd at t1).
void back_steps_v2_fused(const LayerBackSteps& a) {
  const cpu::SimdPath path = cpu::active_simd_path();
  const cpu::LstmStepsDesc d{a.T, a.N, a.H, a.reverse};
  const int threads = cpu::lstm_steps_threads(d, cpu::default_threads());
  const bool product = a.T > 1 || a.need_h0;
  const int64_t G = 4 * a.H;
  Tensor packed;
  Tensor ws =
      empty({static_cast<int64_t>(cpu::lstm_steps_workspace_bytes(d, threads, path))}, DType::u8);
  Tensor partial = a.dbias ? empty({a.T, G}, a.dtype) : Tensor();
  if (product)
    packed = packed_cache().get(
        *a.w_hh, {kLstmStepsBackwardPacking, a.H, static_cast<int64_t>(path)},
        cpu::lstm_steps_packed_w_backward_floats(a.H, path) * sizeof(float), [&](float* out) {
          cpu::lstm_steps_pack_w_backward(a.H, static_cast<const float*>(a.w_hh->raw_data()), out,
                                          threads, path);
        });
  cpu::lstm_steps_backward(d, a.lengths, product ? PackedCache::aligned(packed) : nullptr,
                           static_cast<const float*>(a.act), static_cast<const float*>(a.cbuf),
                           static_cast<const float*>(a.dy), a.need_h0, static_cast<float*>(a.dh),
                           static_cast<float*>(a.dc), static_cast<float*>(a.dgates),
                           a.dbias ? static_cast<float*>(partial.raw_data()) : nullptr,
                           ws.raw_data(), threads, path);
  if (a.dbias)
    cpu::lstm_steps_bias_sum(static_cast<const float*>(partial.raw_data()), a.T, a.H,
                             static_cast<float*>(a.dbias));
}

// Runs one layer's backward steps through the "lstm_steps_backward" dispatch entry.
void layer_back_steps(const LayerBackSteps& a) {
  static const dispatch::Op<BackStepsFn, LayerBackSteps> op{
      "lstm_steps_backward",
      {{"v2_fused", Device::Type::cpu, {{DType::f32, &back_steps_v2_fused}}},
       {"v1_steps",
        Device::Type::cpu,
        {{DType::f32, &back_steps_v1}, {DType::f64, &back_steps_v1}}},
       {"v1_cuda_steps", Device::Type::cuda, {{DType::f32, &back_steps_v1}}}}};
  op.run(a.device, a.dtype, a, a);
}

// Backward of lstm_layer: saved = (x, w_ih, w_hh, hbuf, cbuf, act); grads of (output, h_n, c_n).
LayerGrads layer_backward(const LayerContext& k, const Grads& g, const Grads& s) {
  const int64_t T = k.T, N = k.N, I = k.I, H = k.H, G = 4 * H;
  const Tensor &x = s[0], &w_ih = s[1], &w_hh = s[2], &hbuf = s[3], &cbuf = s[4], &act = s[5];
  Tensor dgates = empty({T, N, G}, k.dtype, k.device);
  Tensor dh = g[1].defined() ? g[1].clone() : zeros({N, H}, k.dtype, k.device);
  Tensor dc = g[2].defined() ? g[2].clone() : zeros({N, H}, k.dtype, k.device);
  Tensor dy = g[0].defined() ? g[0].contiguous() : Tensor();
  LayerGrads out;
  if (k.need_b) out.bias = empty({G}, k.dtype, k.device);
  layer_back_steps({k.device, k.dtype, T, N, H, k.reverse, k.need_h0, lengths_for_kernels(k), &w_hh,
                    act.raw_data(), cbuf.raw_data(), dy.defined() ? dy.raw_data() : nullptr,
                    dh.raw_data(), dc.raw_data(), dgates.raw_data(),
                    k.need_b ? out.bias.raw_data() : nullptr});
  if (k.need_x) {
    out.x = empty({T, N, I}, k.dtype, k.device);
    gemm(k.device, k.dtype, T * N, I, G, false, false, 0.0, dgates.raw_data(), w_ih.raw_data(),
         out.x.raw_data());
  }
  if (k.need_w) {
    out.w_ih = empty({G, I}, k.dtype, k.device);
    out.w_hh = empty({G, H}, k.dtype, k.device);
    gemm(k.device, k.dtype, G, I, T * N, true, false, 0.0, dgates.raw_data(), x.raw_data(),
         out.w_ih.raw_data());
    // Without h0 the step whose h_prev is h0 = 0 adds nothing: its N rows are left out (1/T of
    // this GEMM: ~1.8 ms of L1's t1 fwd_bwd).
    const int64_t skip = k.has_h0 ? 0 : 1, first_g = k.reverse ? 0 : skip * N * G;
    if (T > skip)
      gemm(k.device, k.dtype, G, H, (T - skip) * N, true, false, 0.0, at(dgates, first_g),
           at(hbuf, (k.reverse ? 1 : skip) * N * H), out.w_hh.raw_data());
    else
      fill_into(out.w_hh, 0.0);
  }
  if (k.need_h0) out.h0 = dh;
  if (k.need_c0) out.c0 = dc;
  return out;
}

}  // namespace

LstmLayerResult lstm_layer(const Tensor& x, const LstmWeights& w, const Tensor& h0,
                           const Tensor& c0, const Tensor& lengths, bool reverse) {
  LayerContext k;
  k.lengths = check_layer(x, w, h0, c0, lengths);
  k.T = x.size(0);
  k.N = x.size(1);
  k.I = x.size(2);
  k.H = w.w_hh.size(1);
  k.dtype = x.dtype();
  k.device = x.device();
  k.reverse = reverse;
  k.has_h0 = h0.defined();
  const int64_t T = k.T, N = k.N, H = k.H, G = 4 * H;
  const bool has_bias = w.b_ih.defined();
  const bool grad = autograd::needs_grad({&x, &w.w_ih, &w.w_hh, &w.b_ih, &w.b_hh, &h0, &c0});
  if (!k.lengths.empty() && !k.device.is_cpu())
    k.lengths_on_device = lengths.to(k.device).to(DType::i64).contiguous();
  const int64_t* lens = lengths_for_kernels(k);
  Tensor xc, w_ih, w_hh, act, hbuf, cbuf;
  LstmLayerResult r;
  {
    NoGradGuard no_grad;
    xc = x.contiguous();
    w_ih = w.w_ih.contiguous();
    w_hh = w.w_hh.contiguous();
    act = empty({T, N, G}, k.dtype, k.device);
    // The input projection; the steps add the bias (the fused cell reads it; beta = 0 here does
    // not read act).
    gemm(k.device, k.dtype, T * N, G, k.I, false, true, 0.0, xc.raw_data(), w_ih.raw_data(),
         act.raw_data());
    const Tensor bias = has_bias ? add(w.b_ih, w.b_hh).contiguous() : Tensor();
    hbuf = empty({T + 1, N, H}, k.dtype, k.device);
    cbuf = empty({T + 1, N, H}, k.dtype, k.device);
    const int64_t first = reverse ? T : 0, last = reverse ? 0 : T;
    Tensor h_first = hbuf.narrow(0, first, 1), c_first = cbuf.narrow(0, first, 1);
    if (h0.defined())
      copy_into(h_first, h0);
    else
      fill_into(h_first, 0.0);
    if (c0.defined())
      copy_into(c_first, c0);
    else
      fill_into(c_first, 0.0);
    Tensor y = lens ? empty({T, N, H}, k.dtype, k.device) : Tensor();
    layer_steps({k.device, k.dtype, T, N, H, reverse, !h0.defined(), lens, &w_hh,
                 has_bias ? &bias : nullptr, act.raw_data(), hbuf.raw_data(), cbuf.raw_data(),
                 lens ? y.raw_data() : nullptr});
    r.output = lens ? y : hbuf.narrow(0, reverse ? 0 : 1, T);
    r.h_n = hbuf.narrow(0, last, 1).squeeze(0).clone();
    r.c_n = cbuf.narrow(0, last, 1).squeeze(0).clone();
  }
  if (!grad) return r;
  std::vector<const Tensor*> inputs{&x, &w.w_ih, &w.w_hh};
  if (has_bias) inputs.insert(inputs.end(), {&w.b_ih, &w.b_hh});
  if (h0.defined()) inputs.push_back(&h0);
  if (c0.defined()) inputs.push_back(&c0);
  k.need_x = x.requires_grad();
  k.need_w = w.w_ih.requires_grad() || w.w_hh.requires_grad();
  k.need_b = has_bias && (w.b_ih.requires_grad() || w.b_hh.requires_grad());
  k.need_h0 = h0.defined() && h0.requires_grad();
  k.need_c0 = c0.defined() && c0.requires_grad();
  const bool has_h0 = h0.defined(), has_c0 = c0.defined();
  autograd::record("LstmBackward", inputs, {&r.output, &r.h_n, &r.c_n},
                   {xc, w_ih, w_hh, hbuf, cbuf, act},
                   [k, has_bias, has_h0, has_c0](const Grads& g, const Grads& s) {
                     LayerGrads lg = layer_backward(k, g, s);
                     Grads out{lg.x, lg.w_ih, lg.w_hh};
                     if (has_bias) out.insert(out.end(), {lg.bias, lg.bias});
                     if (has_h0) out.push_back(lg.h0);
                     if (has_c0) out.push_back(lg.c0);
                     return out;
                   });
  return r;
}

namespace {

// lstm_cell_step and lstm_cell_step_sum: gates2 undefined runs the one-input cell.
LstmStepResult cell_step(const char* op, const Tensor& gates, const Tensor& gates2,
                         const Tensor& c_prev, const Tensor& h_prev,
                         const std::vector<int64_t>& lengths, int64_t step) {
  check_defined(op, gates);
  check_dtype(op, gates, {DType::f32, DType::f64});
  SIGNET_CHECK(gates.device().type == Device::Type::cpu, op, ": gates ", shape_str(gates.shape()),
               " are on ", gates.device().str(), "; only cpu is supported");
  SIGNET_CHECK(gates.dim() == 2 && gates.size(1) % 4 == 0 && gates.size(1) > 0, op,
               ": gates must be (N, 4U), got ", shape_str(gates.shape()));
  const int64_t N = gates.size(0), U = gates.size(1) / 4;
  if (gates2.defined()) check_operand("gates_h", gates2, gates.shape(), gates);
  check_operand("c_prev", c_prev, {N, U}, gates);
  check_operand("h_prev", h_prev, {N, U}, gates);
  SIGNET_CHECK(lengths.empty() || static_cast<int64_t>(lengths.size()) == N, op, ": ",
               lengths.size(), " lengths for gates ", shape_str(gates.shape()));
  const DType dt = gates.dtype();
  const int64_t* lens = lengths.empty() ? nullptr : lengths.data();
  const kernels::LstmCellDesc d{N, U, step};
  Tensor g, g2, cp, hp, act, c, h, y;
  {
    NoGradGuard no_grad;
    g = gates.contiguous();
    cp = c_prev.contiguous();
    hp = h_prev.contiguous();
    act = empty({N, 4 * U}, dt);
    c = empty({N, U}, dt);
    h = empty({N, U}, dt);
    if (lens) y = empty({N, U}, dt);
    void* yp = lens ? y.raw_data() : nullptr;
    if (gates2.defined()) {
      g2 = gates2.contiguous();
      cell_sum_forward(dt, d, lens, g.raw_data(), g2.raw_data(), cp.raw_data(), hp.raw_data(),
                       act.raw_data(), c.raw_data(), h.raw_data(), yp);
    } else {
      cell_forward(Device::cpu(), dt, d, lens, g.raw_data(), cp.raw_data(), hp.raw_data(),
                   act.raw_data(), c.raw_data(), h.raw_data(), yp);
    }
  }
  LstmStepResult r{lens ? y : h, h, c};
  if (!autograd::needs_grad({&gates, &c_prev, &h_prev, &gates2})) return r;
  std::vector<const Tensor*> inputs{&gates, &c_prev, &h_prev};
  if (gates2.defined()) inputs.push_back(&gates2);
  std::vector<Tensor*> outputs{&r.h, &r.c};
  if (lens) outputs.push_back(&r.y);
  const bool two = gates2.defined();
  // h_prev's gradient bypasses the gates only on inactive rows; with none it is 0: left undefined
  // so that autograd adds nothing (ConvLSTM saved one add of h's size per step).
  bool bypass = false;
  for (int64_t b = 0; b < N && lens; ++b) bypass = bypass || !kernels::lstm_row_active(d, lens, b);
  autograd::record("LstmCellStepBackward", inputs, outputs, {act, cp, r.c},
                   [d, lengths, dt, two, bypass](const Grads& gr, const Grads& s) {
                     const int64_t n = d.batch, u = d.hidden;
                     Tensor dh = gr[0].defined() ? gr[0].contiguous().clone() : zeros({n, u}, dt);
                     Tensor dc = gr[1].defined() ? gr[1].contiguous().clone() : zeros({n, u}, dt);
                     Tensor dy = gr.size() > 2 && gr[2].defined() ? gr[2].contiguous() : Tensor();
                     Tensor dgates = empty({n, 4 * u}, dt);
                     cell_backward(Device::cpu(), dt, d, lengths.empty() ? nullptr : lengths.data(),
                                   s[0].raw_data(), s[1].raw_data(), s[2].raw_data(),
                                   dy.defined() ? dy.raw_data() : nullptr, dh.raw_data(),
                                   dc.raw_data(), dgates.raw_data());
                     const Tensor dh_prev = bypass ? dh : Tensor();
                     if (two) return Grads{dgates, dc, dh_prev, dgates};
                     return Grads{dgates, dc, dh_prev};
                   },
                   {false, false, true});
  return r;
}

}  // namespace

LstmStepResult lstm_cell_step(const Tensor& gates, const Tensor& c_prev, const Tensor& h_prev,
                              const std::vector<int64_t>& lengths, int64_t step) {
  return cell_step("lstm_cell_step", gates, Tensor(), c_prev, h_prev, lengths, step);
}

LstmStepResult lstm_cell_step_sum(const Tensor& gates_x, const Tensor& gates_h,
                                  const Tensor& c_prev, const Tensor& h_prev,
                                  const std::vector<int64_t>& lengths, int64_t step) {
  return cell_step("lstm_cell_step_sum", gates_x, gates_h, c_prev, h_prev, lengths, step);
}

std::pair<Tensor, Tensor> lstm_cell(const Tensor& x, const LstmWeights& w, const Tensor& h,
                                    const Tensor& c) {
  check_defined("lstm_cell", x);
  SIGNET_CHECK(x.dim() == 2, "lstm_cell: input must be (N, I), got ", shape_str(x.shape()));
  LstmLayerResult r = lstm_layer(x.unsqueeze(0), w, h, c);
  return {r.h_n, r.c_n};
}

}  // namespace signet
