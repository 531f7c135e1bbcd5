// Fused LSTM steps on the packed SGEMM's micro-kernels and the unit-range fused cells.
#include "kernels/cpu/lstm_steps.h"

#include <algorithm>

#include "kernels/common/gemm_desc.h"
#include "kernels/cpu/gemm_microkernels.h"
#include "kernels/cpu/gemm_pack.h"
#include "kernels/cpu/gemm_prepacked.h"
#include "kernels/cpu/lstm_cell.h"
#include "kernels/cpu/threads.h"
#include "kernels/cpu/workspace.h"

#ifdef SIGNET_WITH_OPENMP
#include <omp.h>
#endif

namespace signet::cpu {
namespace {

using gemm_detail::Blocking;
using gemm_detail::round_up;
using kernels::GemmDesc;

// The product of one backward step, dh (N x H) += dG (N x 4H) W_hh (4H x H).
GemmDesc backward_desc(int64_t hidden) {
  return kernels::row_major_gemm(1, hidden, 4 * hidden, false, false, 1.0);
}

// Packs rows [i0, i0 + rows) (rows <= MR) of the row-major a (lda columns) over all `cols`
// columns into one MR-row sliver.
void pack_one_a_sliver(const Blocking& bl, const float* a, int64_t lda, int64_t i0, int64_t rows,
                       int64_t cols, float* out) {
  GemmDesc d = kernels::row_major_gemm(rows, 1, cols, false, false, 1.0);
  d.lda = lda;
  if (bl.mr == 12) return gemm_detail::pack_a<12>(d, a, i0, rows, 0, cols, out, bl.avx512);
  if (bl.mr == 6) return gemm_detail::pack_a<6>(d, a, i0, rows, 0, cols, out, bl.avx512);
  gemm_detail::pack_a<4>(d, a, i0, rows, 0, cols, out, bl.avx512);
}

// Packs columns [p0, p0 + kc) of x (n x ld, row-major) into the k-major NR-column slivers of x^T
// (k = ld rows, n columns): sliver j0 at buf + j0 ld, its row p at + p NR; the rest of buf is
// left as it is (other threads pack the other columns).
void pack_own_rows(const Blocking& bl, const float* x, int64_t n, int64_t ld, int64_t p0,
                   int64_t kc, float* buf) {
  if (kc <= 0) return;
  const GemmDesc t = kernels::row_major_gemm(1, n, ld, false, true, 1.0);
  for (int64_t j0 = 0; j0 < n; j0 += bl.nr) {
    const int cols = static_cast<int>(std::min<int64_t>(bl.nr, n - j0));
    float* out = buf + j0 * ld + p0 * bl.nr;
    if (bl.nr == 32)
      gemm_detail::pack_b_sliver<32>(t, x, p0, kc, j0, cols, out, bl.avx512);
    else
      gemm_detail::pack_b_sliver<16>(t, x, p0, kc, j0, cols, out, bl.avx512);
  }
}

// Forward products of unit block q: its gate columns k H + q MR + r of gates (N x 4H) +=
// (W_hh slivers x h^T)^T, h^T packed in hp.
void forward_products(const LstmStepsDesc& d, const Blocking& bl, const float* pw, const float* hp,
                      float* gates, int64_t q) {
  const int64_t N = d.batch, H = d.hidden, G = 4 * H;
  alignas(64) float tile[gemm_detail::kMaxMr * gemm_detail::kMaxNr];
  const int rows = static_cast<int>(std::min<int64_t>(bl.mr, H - q * bl.mr));
  for (int64_t j0 = 0; j0 < N; j0 += bl.nr) {
    const int cols = static_cast<int>(std::min<int64_t>(bl.nr, N - j0));
    for (int64_t k = 0; k < 4; ++k) {
      bl.kernel_stream_a(H, pw + (4 * q + k) * bl.mr * H, hp + j0 * H, tile, bl.nr, 1.0f, 0.0f);
      sgemm_add_tile_transposed(tile, bl.nr, rows, cols, gates + j0 * G + k * H + q * bl.mr, G,
                                1.0f, bl.avx512);
    }
  }
}

// Backward product of unit block q: dh[:, q MR + r] += dG W_hh[:, q MR + r], dG^T packed in gp.
void backward_products(const LstmStepsDesc& d, const Blocking& bl, const float* pwt,
                       const float* gp, float* dh, int64_t q) {
  const int64_t N = d.batch, H = d.hidden, G = 4 * H;
  alignas(64) float tile[gemm_detail::kMaxMr * gemm_detail::kMaxNr];
  const int rows = static_cast<int>(std::min<int64_t>(bl.mr, H - q * bl.mr));
  for (int64_t j0 = 0; j0 < N; j0 += bl.nr) {
    const int cols = static_cast<int>(std::min<int64_t>(bl.nr, N - j0));
    bl.kernel_stream_a(G, pwt + q * bl.mr * G, gp + j0 * G, tile, bl.nr, 1.0f, 0.0f);
    sgemm_add_tile_transposed(tile, bl.nr, rows, cols, dh + j0 * H + q * bl.mr, H, 1.0f, bl.avx512);
  }
}

// Waits for every thread of the team of nt.
void barrier(int nt) {
#ifdef SIGNET_WITH_OPENMP
  if (nt > 1) {
#pragma omp barrier
  }
#else
  (void)nt;
#endif
}

// Runs body(tid, nt) on a team of up to `threads` threads.
template <class Body>
void run_team(int threads, Body body) {
#ifdef SIGNET_WITH_OPENMP
#pragma omp parallel num_threads(threads) if (threads > 1)
  body(omp_get_thread_num(), omp_get_num_threads());
#else
  (void)threads;
  body(0, 1);
#endif
}

// out[k H + u] = sum over rows b < n (in order) of dg[b ld + k H + u] for the four gates k and
// units u in [u0, u1).
void column_sums(const float* dg, int64_t n, int64_t ld, int64_t H, int64_t u0, int64_t u1,
                 float* out) {
  for (int64_t k = 0; k < 4; ++k) {
    float* o = out + k * H;
    std::fill(o + u0, o + u1, 0.0f);
    for (int64_t b = 0; b < n; ++b) {
      const float* row = dg + b * ld + k * H;
      for (int64_t u = u0; u < u1; ++u) o[u] += row[u];
    }
  }
}

// The workspace: the two packed-operand buffers and, per phase, one work range per thread.
struct Scratch {
  float* buf[2];
  uint64_t* ranges;  // phase p, thread r at [p threads + r]
  int threads;
};

// Floats of one packed-operand buffer (a 64-byte multiple).
int64_t buffer_floats(const LstmStepsDesc& d, const Blocking& bl) {
  return round_up(round_up(std::max<int64_t>(d.batch, 1), bl.nr) * 4 * d.hidden, 16);
}

// A work range: blocks [front, back) left, front in the low 32 bits.
uint64_t range_word(int64_t front, int64_t back) {
  return static_cast<uint64_t>(front) | static_cast<uint64_t>(back) << 32;
}

// Splits the workspace of lstm_steps_workspace_bytes and gives thread r of every phase the
// static share [blocks r / threads, blocks (r + 1) / threads).
Scratch scratch_of(const LstmStepsDesc& d, const Blocking& bl, void* workspace, int threads) {
  const int64_t floats = buffer_floats(d, bl), blocks = (d.hidden + bl.mr - 1) / bl.mr;
  float* ws = aligned64<float>(workspace);
  Scratch s{{ws, ws + floats}, reinterpret_cast<uint64_t*>(ws + 2 * floats), threads};
  for (int64_t p = 0; p <= d.steps; ++p)
    for (int r = 0; r < threads; ++r)
      s.ranges[p * threads + r] = range_word(blocks * r / threads, blocks * (r + 1) / threads);
  return s;
}

// The next block for thread tid from a phase's ranges w (n of them): the front of its own range,
// else the back of another's (a thread held up by the host leaves the rest of its share to the
// others; in a quiet run every thread does exactly its static share); -1 when none is left.
int64_t take_block(uint64_t* w, int n, int tid) {
  for (int k = 0; k < n; ++k) {
    const int r = (tid + k) % n;
    uint64_t v = __atomic_load_n(w + r, __ATOMIC_RELAXED);
    for (;;) {
      const int64_t front = static_cast<int64_t>(v & 0xFFFFFFFFu);
      const int64_t back = static_cast<int64_t>(v >> 32);
      if (front >= back) break;
      const uint64_t taken = k == 0 ? range_word(front + 1, back) : range_word(front, back - 1);
      if (__atomic_compare_exchange_n(w + r, &v, taken, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return k == 0 ? front : back - 1;
    }
  }
  return -1;
}

// The unit ranges whose products a thread ran in a phase, merged where adjacent; their cells run
// afterwards over whole ranges: a cell on one 12-unit block at a time took ~5 us a block (32 rows
// of 48 bytes each at a 16 KiB stride: one L1 set; L1 forward at t1 48 ms against 43 ms for the
// per-step path), over a thread's share of ~500 units it runs as fast as the per-step cell.
class Ranges {
 public:
  // Adds units [u0, u1); when full, first hands the ranges so far to fn(lo, hi).
  template <class Fn>
  void add(int64_t u0, int64_t u1, Fn fn) {
    if (n_ > 0 && u0 == hi_[n_ - 1]) {
      hi_[n_ - 1] = u1;
      return;
    }
    if (n_ > 0 && u1 == lo_[n_ - 1]) {
      lo_[n_ - 1] = u0;
      return;
    }
    if (n_ == kMax) flush(fn);
    lo_[n_] = u0;
    hi_[n_] = u1;
    ++n_;
  }
  // Hands every range to fn(lo, hi) and empties the list.
  template <class Fn>
  void flush(Fn fn) {
    for (int r = 0; r < n_; ++r) fn(lo_[r], hi_[r]);
    n_ = 0;
  }

 private:
  static constexpr int kMax = 16;
  int64_t lo_[kMax] = {}, hi_[kMax] = {};
  int n_ = 0;
};

// Runs product(q) for the unit blocks q that thread tid takes in phase p, then cell(u0, u1) on
// the unit ranges of those blocks.
template <class Product, class Cell>
void take_blocks(const Scratch& sc, const Blocking& bl, int64_t hidden, int64_t p, int tid,
                 Product product, Cell cell) {
  Ranges done;
  for (;;) {
    const int64_t q = take_block(sc.ranges + p * sc.threads, sc.threads, tid);
    if (q < 0) break;
    product(q);
    done.add(q * bl.mr, std::min(hidden, (q + 1) * bl.mr), cell);
  }
  done.flush(cell);
}

// The forward steps on one thread of the team of nt (see lstm_steps_forward): phase st takes
// unit blocks and runs their products, then the cell and the packing of h_t on their units.
void forward_thread(const LstmStepsDesc& d, const int64_t* lengths, const float* pw,
                    const float* bias, bool h0_zero, float* act, float* hbuf, float* cbuf, float* y,
                    const Scratch& sc, const Blocking& bl, SimdPath path, int tid, int nt) {
  const int64_t T = d.steps, N = d.batch, H = d.hidden, G = 4 * H, NH = N * H;
  if (!h0_zero) {
    const int64_t blocks = (H + bl.mr - 1) / bl.mr;
    const int64_t u0 = std::min(H, blocks * tid / nt * bl.mr);
    const int64_t u1 = std::min(H, blocks * (tid + 1) / nt * bl.mr);
    pack_own_rows(bl, hbuf + (d.reverse ? T : 0) * NH, N, H, u0, u1 - u0, sc.buf[0]);
    barrier(nt);
  }
  for (int64_t st = 0; st < T; ++st) {
    const int64_t t = d.reverse ? T - 1 - st : st;
    const int64_t prev = d.reverse ? t + 1 : t, next = d.reverse ? t : t + 1;
    float* gates = act + t * N * G;
    take_blocks(
        sc, bl, H, st, tid,
        [&](int64_t q) {
          if (st > 0 || !h0_zero) forward_products(d, bl, pw, sc.buf[st & 1], gates, q);
        },
        [&](int64_t u0, int64_t u1) {
          lstm_cell_forward_units({N, H, t}, lengths, gates, bias, 0, cbuf + prev * NH,
                                  hbuf + prev * NH, gates, cbuf + next * NH, hbuf + next * NH,
                                  y ? y + t * NH : nullptr, 0, N, u0, u1, path);
          if (st + 1 < T)
            pack_own_rows(bl, hbuf + next * NH, N, H, u0, u1 - u0, sc.buf[(st + 1) & 1]);
        });
    if (st + 1 < T) barrier(nt);
  }
}

// The backward steps on one thread of the team of nt (see lstm_steps_backward): phase p takes
// unit blocks and runs step s = T - p's product into dh for them (p > 0), then step s - 1's cell
// gradient (with its bias column sums) and the packing of its dG on their units.
void backward_thread(const LstmStepsDesc& d, const int64_t* lengths, const float* pwt,
                     const float* act, const float* cbuf, const float* dy, bool last_product,
                     float* dh, float* dc, float* dgates, float* dbias_steps, const Scratch& sc,
                     const Blocking& bl, SimdPath path, int tid, int nt) {
  const int64_t T = d.steps, N = d.batch, H = d.hidden, G = 4 * H, NH = N * H;
  for (int64_t st = T; st >= 0; --st) {
    if (st == 0 && !last_product) break;
    take_blocks(
        sc, bl, H, T - st, tid,
        [&](int64_t q) {
          if (st < T) backward_products(d, bl, pwt, sc.buf[st & 1], dh, q);
        },
        [&](int64_t u0, int64_t u1) {
          if (st == 0) return;
          const int64_t s = st - 1, t = d.reverse ? T - 1 - s : s;
          const int64_t prev = d.reverse ? t + 1 : t, next = d.reverse ? t : t + 1;
          float* dg = dgates + t * N * G;
          lstm_cell_backward_units({N, H, t}, lengths, act + t * N * G, cbuf + prev * NH,
                                   cbuf + next * NH, dy ? dy + t * NH : nullptr, dh, dc, dg, 0, N,
                                   u0, u1, path);
          if (dbias_steps) column_sums(dg, N, G, H, u0, u1, dbias_steps + t * G);
          if (s == 0 && !last_product) return;
          for (int64_t k = 0; k < 4; ++k)
            pack_own_rows(bl, dg, N, G, k * H + u0, u1 - u0, sc.buf[s & 1]);
        });
    if (st > 0 && (st > 1 || last_product)) barrier(nt);
  }
}

}  // namespace

// gemm_detail::kMinParallelWork multiply-adds per step, as the packed SGEMMs.
int lstm_steps_threads(const LstmStepsDesc& d, int threads) {
  return d.batch * 4 * d.hidden * d.hidden >= gemm_detail::kMinParallelWork ? threads : 1;
}

// Four MR-row slivers per block of MR units, each over H columns.
size_t lstm_steps_packed_w_floats(int64_t hidden, SimdPath path) {
  const Blocking bl = gemm_detail::blocking_for(path);
  return static_cast<size_t>(4 * round_up(hidden, bl.mr) * hidden);
}

// Threads split the slivers in contiguous runs.
void lstm_steps_pack_w(int64_t hidden, const float* w_hh, float* packed, int threads,
                       SimdPath path) {
  const Blocking bl = gemm_detail::blocking_for(path);
  const int64_t H = hidden, slivers = 4 * ((H + bl.mr - 1) / bl.mr);
  const int nt = 4 * H * H >= gemm_detail::kMinParallelWork ? threads : 1;
  parallel_ranges(slivers, nt, [&](int, int64_t lo, int64_t hi) {
    for (int64_t sl = lo; sl < hi; ++sl) {
      const int64_t q = sl / 4, k = sl % 4;
      const int64_t rows = std::min<int64_t>(bl.mr, H - q * bl.mr);
      pack_one_a_sliver(bl, w_hh, H, k * H + q * bl.mr, rows, H, packed + sl * bl.mr * H);
    }
  });
}

// sgemm_pack_bt's size for the backward product.
size_t lstm_steps_packed_w_backward_floats(int64_t hidden, SimdPath path) {
  return sgemm_packed_bt_floats(backward_desc(hidden), path);
}

// sgemm_pack_bt of the backward product (its A operand, W_hh^T, in MR-unit slivers).
void lstm_steps_pack_w_backward(int64_t hidden, const float* w_hh, float* packed, int threads,
                                SimdPath path) {
  sgemm_pack_bt(backward_desc(hidden), w_hh, packed, threads, path);
}

// Two buffers of N (rounded up to NR) x 4H floats, 64-byte multiples, (T + 1) x threads range
// words, + 64 for alignment.
size_t lstm_steps_workspace_bytes(const LstmStepsDesc& d, int threads, SimdPath path) {
  const int64_t floats = buffer_floats(d, gemm_detail::blocking_for(path));
  return static_cast<size_t>(2 * floats) * sizeof(float) +
         static_cast<size_t>((d.steps + 1) * std::max(threads, 1)) * sizeof(uint64_t) + 64;
}

// One team for all the steps; each thread its static share of the unit blocks, stolen from the
// back by the others when it falls behind.
void lstm_steps_forward(const LstmStepsDesc& d, const int64_t* lengths, const float* packed_w,
                        const float* bias, bool h0_zero, float* act, float* hbuf, float* cbuf,
                        float* y, void* workspace, int threads, SimdPath path) {
  if (d.steps <= 0 || d.batch <= 0 || d.hidden <= 0) return;
  const Blocking bl = gemm_detail::blocking_for(path);
  const Scratch sc = scratch_of(d, bl, workspace, std::max(threads, 1));
  run_team(threads, [&](int tid, int nt) {
    forward_thread(d, lengths, packed_w, bias, h0_zero, act, hbuf, cbuf, y, sc, bl, path, tid, nt);
  });
}

// One team for all the steps; each thread its static share of the unit blocks, stolen from the
// back by the others when it falls behind.
void lstm_steps_backward(const LstmStepsDesc& d, const int64_t* lengths,
                         const float* packed_w_backward, const float* act, const float* cbuf,
                         const float* dy, bool last_product, float* dh, float* dc, float* dgates,
                         float* dbias_steps, void* workspace, int threads, SimdPath path) {
  if (d.steps <= 0 || d.batch <= 0 || d.hidden <= 0) return;
  const Blocking bl = gemm_detail::blocking_for(path);
  const Scratch sc = scratch_of(d, bl, workspace, std::max(threads, 1));
  run_team(threads, [&](int tid, int nt) {
    backward_thread(d, lengths, packed_w_backward, act, cbuf, dy, last_product, dh, dc, dgates,
                    dbias_steps, sc, bl, path, tid, nt);
  });
}

// Step by step, so that the sum does not depend on the thread count.
void lstm_steps_bias_sum(const float* dbias_steps, int64_t steps, int64_t hidden, float* out) {
  const int64_t G = 4 * hidden;
  std::fill(out, out + G, 0.0f);
  for (int64_t t = 0; t < steps; ++t)
    for (int64_t j = 0; j < G; ++j) out[j] += dbias_steps[t * G + j];
}

}  // namespace signet::cpu
