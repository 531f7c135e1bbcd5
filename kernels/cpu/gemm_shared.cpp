// v4 SGEMM: v3's packing and micro-kernels with op(B) packed once per block for all threads.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <new>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_microkernels.h"
#include "kernels/cpu/gemm_pack.h"
#include "kernels/cpu/gemm_store_choice.h"
#include "kernels/cpu/threads.h"
#include "kernels/cpu/workspace.h"

#ifdef SIGNET_WITH_OPENMP
#include <omp.h>
#endif

namespace signet::cpu {
namespace {

using gemm_detail::Blocking;
using gemm_detail::kMinParallelWork;
using gemm_detail::multiply_tile;
using gemm_detail::pack_a;
using gemm_detail::pack_b;
using gemm_detail::round_up;
using gemm_detail::scale_c;
using kernels::GemmDesc;

// v4's blocking on `path`: wide_blocking_for's micro-kernel (8 x 48 on AVX-512) and KC; NC cut
// to 1024 rounded up to whole slivers (a KC x NC block of B: 1056 columns, 1.03 MiB on AVX-512,
// so that n = 1024 is one block), the macro-kernel running each KC x NR sliver
// of B (48 KiB) against the A slivers of a row chunk, which stream past it; MC doubled (A's block
// is only staged, never held in L2), so that up to 960 rows form one block and the n-split packs
// A and B once per KC block. Until 2026-12-02 the tile was 12 x 32 with A's sliver held in L1
// and the B block streamed past it. In v4, v3's order (B sliver in L1, A streamed, NC 2048)
// measured equal on 1024^3 and up to 18% slower on the LSTM cases at 2 threads (2026-12-01, loaded
// machine). On a Zen 5 guest, whose 1 MiB L2 the block fills, a smaller block was still no faster
// (1024^3 t2, alternated per call, 2026-12-02): NC 512 0.975x (A is packed once per NC block), KC
// 192 0.99x, KC 384 1.01x, KC 512 with NC 512 1.00x; own_columns with 8-sliver chunks or MC 480
// 0.93-0.98x on the input projection (B^T packed once per row block).
Blocking v4_blocking(SimdPath path) {
  Blocking bl = gemm_detail::wide_blocking_for(path);
  bl.nc = static_cast<int>(round_up(std::min(bl.nc, 1024), bl.nr));
  bl.mc *= 2;
  return bl;
}

// KC blocks own_columns packs at a time (its k span: 1024 steps on AVX-512).
constexpr int64_t kSpanBlocks = 4;

// The k steps own_columns packs A and B for at a time: up to kSpanBlocks KC blocks.
int64_t own_span(const GemmDesc& d, const Blocking& bl) {
  return std::min<int64_t>(kSpanBlocks * bl.kc, std::max<int64_t>(d.k, 1));
}

// The most columns of one own_columns chunk: as many as fill 512 KiB over the k span (rounded
// down to whole slivers), at least one sliver.
int64_t span_columns(const GemmDesc& d, const Blocking& bl) {
  return std::max<int64_t>(bl.nr, (int64_t{128} << 10) / own_span(d, bl) / bl.nr * bl.nr);
}

// Floats of one thread's packed A block and of one packed B block (64-byte multiples, B's
// blocks counted in whole zero-padded slivers), enough for either split.
void panel_floats(const GemmDesc& d, const Blocking& bl, int64_t* a_floats, int64_t* b_floats) {
  const int64_t kc = std::min<int64_t>(bl.kc, std::max<int64_t>(d.k, 1)), span = own_span(d, bl);
  const int64_t cols = round_up(d.n, bl.nr);
  *a_floats = round_up(std::min<int64_t>(bl.mc, round_up(d.m, bl.mr)) * span, 16);
  *b_floats = round_up(std::max(round_up(std::min<int64_t>(bl.nc, cols), bl.nr) * kc,
                                std::min(span_columns(d, bl), cols) * span),
                       16);
}

// The share [lo, hi) of thread tid of nt over len, cut at multiples of q.
void split(int64_t len, int64_t q, int tid, int nt, int64_t* lo, int64_t* hi) {
  const int64_t units = (len + q - 1) / q;
  *lo = std::min(len, units * tid / nt * q);
  *hi = std::min(len, units * (tid + 1) / nt * q);
}

// The C block at c of mc x nc from packed A (mc rows) and packed B (nc columns), both over
// `span` k steps: each sliver of B against every sliver of A, C column band by column band (B's
// sliver stays in L1 or L2 while A's, a row chunk's few, stream past it). A tile
// takes its sums KC steps at a time (beta_first on the first, then 1), as shared_b's blocks do,
// back to back while the tile is in L1; shared_b passes one KC block (span <= KC). With
// stream_c (streams_c), whole tiles go through the kernel that writes C past the caches.
template <int MR, int NR>
void macro_kernel(const Blocking& bl, int64_t span, int64_t mc, int64_t nc, const float* apack,
                  const float* bpack, float* c, int64_t ldc, float alpha, float beta_first,
                  bool stream_c) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int cols = static_cast<int>(std::min<int64_t>(NR, nc - jr));
    for (int64_t ir = 0; ir < mc; ir += MR) {
      const int rows = static_cast<int>(std::min<int64_t>(MR, mc - ir));
      if (stream_c && rows == MR && cols == NR) {
        bl.kernel_stream_c(span, apack + ir * span, bpack + jr * span, c + ir * ldc + jr, ldc,
                           alpha, 0.0f);
        continue;
      }
      for (int64_t p = 0; p < span; p += bl.kc)
        multiply_tile(bl, std::min<int64_t>(bl.kc, span - p), apack + ir * span + p * MR,
                      bpack + jr * span + p * NR, c + ir * ldc + jr, ldc, alpha,
                      p == 0 ? beta_first : 1.0f, rows, cols);
    }
  }
  if (stream_c) gemm_detail::fence_streamed_stores();
}

// C's bytes from which v4 writes a C that is only written with streaming stores: as much as
// the L2s of two cores hold on either bench host (2 x 2 MiB Xeon, 2 x 1 MiB Zen 5), so such a C
// leaves the cores' own caches anyway.
constexpr int64_t kStreamCBytes = int64_t{4} << 20;

// Whether C is written once and only written (beta 0, one KC block: each tile's one sum), large
// (kStreamCBytes) and 64-byte aligned in every row and batch item, on a path with a streaming
// kernel: then whole tiles are stored past the caches. Alternated per call with ordinary stores,
// t2, Zen 5 guest, 2026-12-02: weight gradient 4096x1024x32 1.08x (t1 1.04x), 1024x1024x256
// 1.03x, 600x4096x64 (own columns) 1.36x; with a parallel sum reading C after each call, the
// weight gradient still 1.02x. Not measured on the Xeon.
bool streams_c(const GemmDesc& d, const Blocking& bl, const float* c) {
  return bl.kernel_stream_c && d.beta == 0 && d.k <= bl.kc &&
         d.batch * d.m * d.n * int64_t{sizeof(float)} >= kStreamCBytes && d.ldc % 16 == 0 &&
         (d.batch == 1 || d.stride_c % 16 == 0) && reinterpret_cast<uintptr_t>(c) % 64 == 0;
}

// The row step of MC-row blocks of nearly equal size (multiples of MR) over [m0, m1).
int64_t row_step(int64_t m0, int64_t m1, int64_t mc, int64_t mr) {
  const int64_t blocks = (m1 - m0 + mc - 1) / mc;
  return round_up((m1 - m0 + blocks - 1) / blocks, mr);
}

// Rows [m0, m1) of C against one packed B block (columns jc.., nc wide; k rows pc.., kc deep),
// one MC-row block of A packed into apack at a time.
template <int MR, int NR>
void rows_against_block(const GemmDesc& d, const Blocking& bl, const float* a, const float* bpack,
                        float* c, int64_t m0, int64_t m1, int64_t jc, int64_t nc, int64_t pc,
                        int64_t kc, float* apack, bool stream_c) {
  if (m0 >= m1) return;
  const float alpha = static_cast<float>(d.alpha);
  const float beta = pc == 0 ? static_cast<float>(d.beta) : 1.0f;
  const int64_t step = row_step(m0, m1, bl.mc, MR);
  for (int64_t ic = m0; ic < m1; ic += step) {
    const int64_t mc = std::min<int64_t>(step, m1 - ic);
    pack_a<MR>(d, a, ic, mc, pc, kc, apack, bl.avx512);
    macro_kernel<MR, NR>(bl, kc, mc, nc, apack, bpack, c + ic * d.ldc + jc, d.ldc, alpha, beta,
                         stream_c);
  }
}

// Packs one piece of a shared B block (pack_b's arguments) with the stores `stores` asks for
// (cached or streamed, or the chooser's pick timed and recorded), fenced when streamed.
template <int NR>
void pack_piece(const GemmDesc& d, const float* b, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                float* out, bool avx512, BStores stores) {
  if (stores == BStores::cached) return pack_b<NR>(d, b, p0, kc, j0, nc, out, avx512);
  if (stores == BStores::streamed) {
    pack_b<NR>(d, b, p0, kc, j0, nc, out, avx512, true);
    return gemm_detail::fence_streamed_stores();
  }
  gemm_detail::BStoreChooser& chooser = gemm_detail::b_store_chooser();
  const bool stream = chooser.pick_streamed();
  const auto start = std::chrono::steady_clock::now();
  pack_b<NR>(d, b, p0, kc, j0, nc, out, avx512, stream);
  if (stream) gemm_detail::fence_streamed_stores();
  const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
  chooser.record(stream, took.count() * 256 / static_cast<double>(kc * nc));
}

// The fewest rows of a shared_b chunk (a multiple of every path's MR).
constexpr int64_t kMinChunkRows = 24;

// Columns of a B block a thread packs per claim in shared_b (rounded down to whole slivers: 96
// on AVX-512, 96 KiB).
constexpr int64_t kPieceColumns = 128;

// The counters the threads of one call share: own_columns's next ticket, and per B buffer
// (block parity) shared_b's pieces packed into it and row chunks multiplied against it, counted
// over all blocks.
struct Claims {
  std::atomic<int64_t> tickets{0};
  std::atomic<int64_t> packed[2] = {0, 0};
  std::atomic<int64_t> rows_done[2] = {0, 0};
};

// shared_b's blocks (each with its BlockClaims): batch items x NC blocks x KC blocks.
int64_t block_count(const GemmDesc& d, const Blocking& bl) {
  return d.batch * ((d.n + bl.nc - 1) / bl.nc) * ((d.k + bl.kc - 1) / bl.kc);
}

// One shared_b block's claims, in the workspace (zeroed per call): B pieces claimed, and row
// chunks claimed from the front (high 32 bits) and from the back (low 32) in one word, so that
// one compare-and-swap takes a chunk from either end (a block has far fewer than 2^32 chunks).
struct BlockClaims {
  std::atomic<int64_t> pieces;
  std::atomic<uint64_t> chunks;
};

// The next row chunk of `block` (`count` in all) from the front or the back, or -1 once every
// chunk is claimed.
int64_t claim_chunk(BlockClaims& block, int64_t count, bool from_front) {
  uint64_t w = block.chunks.load(std::memory_order_relaxed);
  for (;;) {
    const int64_t front = static_cast<int64_t>(w >> 32),
                  back = static_cast<int64_t>(w & 0xFFFFFFFF);
    if (front + back >= count) return -1;
    const uint64_t next = w + (from_front ? uint64_t{1} << 32 : 1);
    if (block.chunks.compare_exchange_weak(w, next, std::memory_order_relaxed))
      return from_front ? front : count - 1 - back;
  }
}

// Split over m, without a barrier: each thread walks the (batch item, NC, KC) blocks in order;
// in block t it first claims pieces of its B block (packed into buffer t % 2), then chunks of
// rows to multiply against it, the first half of the threads from the top of C, the others from
// the bottom, until none is left; then it goes on to block t + 1, whose B it packs while the
// others finish t (with a barrier per block it waited there: on this VM one core often runs
// 10-18% slower than the other for seconds at a time, which is also why rows are claimed rather
// than split in fixed halves). From both ends, a thread mostly gets the rows it had in the block
// before, whose C lines are then in its own caches (claimed in one order they changed core at
// random, and crossed between L3s when the vCPUs sit apart), and walks A and C in order: 1024^3
// 1.02x, Zen 5 guest, t2 (bench/RESULTS.md). Three waits keep it correct: a chunk waits for its
// block's pieces; a piece waits until block t - 2, whose buffer it reuses, has had all its
// chunks; a chunk waits for the same rows of the block before (chunk_done), whose sums it
// continues. A thread waits only for work already claimed (it passed those pools to get here),
// and a piece waits only for earlier blocks, a chunk for its block's pieces and earlier blocks,
// so every wait ends; every element of C is summed in the same order whoever claims what.
// `stores`: how the pieces are written (pack_piece).
template <int MR, int NR>
void shared_b(const GemmDesc& d, const Blocking& bl, const float* a, const float* b, float* c,
              float* apack, float* const bbuf[2], Claims* claims, BlockClaims* block_claims,
              std::atomic<int64_t>* chunk_done, BStores stores, bool from_front, int nt) {
  const int64_t chunk = sgemm_v4_chunk_rows(d, nt), chunks = (d.m + chunk - 1) / chunk;
  const int64_t piece = std::max<int64_t>(NR, kPieceColumns / NR * NR);
  const int64_t pieces = (std::min<int64_t>(bl.nc, d.n) + piece - 1) / piece;
  const int64_t col_blocks = (d.n + bl.nc - 1) / bl.nc, k_blocks = (d.k + bl.kc - 1) / bl.kc;
  const bool stream_c = streams_c(d, bl, c);
  for (int64_t t = 0, blocks = block_count(d, bl); t < blocks; ++t) {
    const int64_t p = t / (col_blocks * k_blocks);
    const int64_t jc = t / k_blocks % col_blocks * bl.nc, pc = t % k_blocks * bl.kc;
    const int64_t nc = std::min<int64_t>(bl.nc, d.n - jc), kc = std::min<int64_t>(bl.kc, d.k - pc);
    float* bpack = bbuf[t & 1];
    BlockClaims& mine = block_claims[t];
    for (int64_t slot; (slot = mine.pieces.fetch_add(1, std::memory_order_relaxed)) < pieces;) {
      wait_at_least(claims->rows_done[t & 1], t / 2 * chunks);
      const int64_t j0 = slot * piece;
      if (j0 < nc)
        pack_piece<NR>(d, b + p * d.stride_b, pc, kc, jc + j0, std::min(piece, nc - j0),
                       bpack + j0 * kc, bl.avx512, stores);
      claims->packed[t & 1].fetch_add(1, std::memory_order_release);
    }
    for (int64_t r; (r = claim_chunk(mine, chunks, from_front)) >= 0;) {
      const int64_t r0 = r * chunk;
      wait_at_least(claims->packed[t & 1], (t / 2 + 1) * pieces);
      wait_at_least(chunk_done[r], t);
      rows_against_block<MR, NR>(d, bl, a + p * d.stride_a, bpack, c + p * d.stride_c, r0,
                                 std::min(d.m, r0 + chunk), jc, nc, pc, kc, apack, stream_c);
      chunk_done[r].store(t + 1, std::memory_order_release);
      claims->rows_done[t & 1].fetch_add(1, std::memory_order_release);
    }
  }
}

// How own_columns cuts C's columns into the chunks a thread claims: `wide` chunks of `width`
// columns, then the rest (the last nt chunks' worth) in chunks of `narrow`; `count` in all.
struct ColumnChunks {
  int64_t width, narrow, wide, count;
  // The first column and the width of chunk i.
  void at(int64_t i, int64_t n, int64_t* jc, int64_t* nc) const {
    *jc = i < wide ? i * width : wide * width + (i - wide) * narrow;
    *nc = std::min(i < wide ? width : narrow, n - *jc);
  }
};

// Chunks of span_columns (128 on AVX-512 for a k span of 1024), fewer columns when n would give
// a thread fewer than four; with several threads the last nt chunks' columns are cut a quarter
// as wide (at least one sliver), so that the thread that runs out of work first waits for at
// most a narrow chunk, not a wide one (on the input projection a wide chunk is ~0.5 ms, and the
// idle tail was 0.4-0.6 ms of a 16 ms call). Alternated per call with uncut chunks, t2, Zen 5
// guest, 2026-12-02: input projection 1.01-1.02x (NT and NN), 256x4096x1024 1.02x,
// 640x4096x4096 1.00x (four spans: the tail is a smaller part of the call).
ColumnChunks column_chunks(const GemmDesc& d, const Blocking& bl, int nt) {
  const int64_t width =
      std::min(span_columns(d, bl), round_up((d.n + 4 * nt - 1) / (4 * nt), bl.nr));
  const int64_t all = (d.n + width - 1) / width;
  if (nt == 1) return {width, width, all, all};
  const int64_t narrow = std::max<int64_t>(bl.nr, width / 4 / bl.nr * bl.nr);
  const int64_t wide = std::max<int64_t>(0, all - nt);
  return {width, narrow, wide, wide + (d.n - wide * width + narrow - 1) / narrow};
}

// Split over n (when m is too short to share out), without a barrier: tickets, handed out in
// order, walk the (batch item, k span) groups, each a (MC block of rows, chunk of columns) tile
// of C; a thread packs the A block of the rows it works on (once per row block it reaches) and
// each tile's B, over the span (up to 4 KC blocks), then waits until the tile's previous group
// is done (tile_done), whose sums it continues. Claimed for the reasons shared_b gives; the same
// order of sums whoever claims what, and the same as shared_b's (KC blocks summed in turn).
// Against a barrier per KC block (alternated per call, t2, 2026-12-01): the input projection
// 640x4096x1024 1.03-1.08x; shared_b's 1024^3 1.00 (its claims had left little waiting). The
// span (a tile's KC blocks back to back, so that C is read and written from L3 once per span
// instead of once per KC block; chunks narrowed to keep B's chunk at 512 KiB) against one KC block
// per group, alternated per call, t2, Zen 5 guest, 2026-12-02: wide shapes 1.04-1.06x (the input
// projection 1.04-1.05x); not measured on the Xeon.
template <int MR, int NR>
void own_columns(const GemmDesc& d, const Blocking& bl, const float* a, const float* b, float* c,
                 int nt, float* apack, float* bpack, Claims* claims,
                 std::atomic<int64_t>* tile_done) {
  const float alpha = static_cast<float>(d.alpha);
  const int64_t step = row_step(0, d.m, bl.mc, MR), row_blocks = (d.m + step - 1) / step;
  const ColumnChunks cut = column_chunks(d, bl, nt);
  const int64_t chunks = cut.count;
  const int64_t span = own_span(d, bl), tiles = row_blocks * chunks;
  const int64_t k_blocks = (d.k + span - 1) / span;
  const bool stream_c = streams_c(d, bl, c);
  // packed: the ticket / chunks (group and row block) whose A block is in apack.
  for (int64_t packed = -1;;) {
    const int64_t ticket = claims->tickets.fetch_add(1, std::memory_order_relaxed);
    const int64_t group = ticket / tiles, tile = ticket % tiles;
    if (group >= d.batch * k_blocks) break;
    const int64_t p = group / k_blocks, pc = group % k_blocks * span;
    const int64_t kspan = std::min<int64_t>(span, d.k - pc);
    const int64_t ic = tile / chunks * step, mc = std::min(step, d.m - ic);
    if (packed != ticket / chunks) {
      pack_a<MR>(d, a + p * d.stride_a, ic, mc, pc, kspan, apack, bl.avx512);
      packed = ticket / chunks;
    }
    int64_t jc, nc;
    cut.at(tile % chunks, d.n, &jc, &nc);
    pack_b<NR>(d, b + p * d.stride_b, pc, kspan, jc, nc, bpack, bl.avx512);
    wait_at_least(tile_done[tile], group);
    macro_kernel<MR, NR>(bl, kspan, mc, nc, apack, bpack, c + p * d.stride_c + ic * d.ldc + jc,
                         d.ldc, alpha, pc == 0 ? static_cast<float>(d.beta) : 1.0f, stream_c);
    tile_done[tile].store(group + 1, std::memory_order_release);
  }
}

// Whether the threads share B (split m) rather than take their own columns (split n): when m
// gives every thread at least 8 row slivers (four claimable chunks each) and n is at most 2 m.
// Sharing packs B once but has each core read the half the other packed; splitting n packs all
// of A on every core, which costs less once n > 2 m (A is m x k, half of B k n / 2).
bool shares_b(const GemmDesc& d, const Blocking& bl, int nt) {
  return nt == 1 || ((d.m + bl.mr - 1) / bl.mr >= int64_t{8} * nt && d.n <= 2 * d.m);
}

// The progress flags own_columns or shared_b keep per tile or chunk of C (an upper bound for
// both: own_columns has at most ceil(m / MC) row blocks and chunks of at least NR columns).
int64_t flag_count(const GemmDesc& d, const Blocking& bl) {
  const int64_t chunks = (d.m + kMinChunkRows - 1) / kMinChunkRows;
  return std::max(chunks, (d.m + bl.mc - 1) / bl.mc * ((d.n + bl.nr - 1) / bl.nr));
}

// The workspace layout (per-thread A blocks, max(2, nt) B blocks, the progress flags, then
// shared_b's claims per block) and the thread team.
template <int MR, int NR>
void shared_all(const GemmDesc& d, const float* a, const float* b, float* c, float* ws, int threads,
                const Blocking& bl, V4Split mode, BStores stores) {
  int64_t a_floats, b_floats;
  panel_floats(d, bl, &a_floats, &b_floats);
  const bool parallel =
      threads > 1 && d.batch * d.m * d.n * std::max<int64_t>(d.k, 1) >= kMinParallelWork;
  const int nt_req = parallel ? threads : 1;
  float* bws = ws + int64_t{nt_req} * a_floats;
  // The flags live in the workspace (kernels never allocate), after the B blocks (64-byte
  // aligned: every block is a multiple of 16 floats).
  void* flag_bytes = bws + std::max(2, nt_req) * b_floats;
  const int64_t flags = flag_count(d, bl);
  auto* done = static_cast<std::atomic<int64_t>*>(flag_bytes);
  for (int64_t i = 0; i < flags; ++i) new (done + i) std::atomic<int64_t>(0);
  auto* block_claims = reinterpret_cast<BlockClaims*>(done + flags);
  for (int64_t i = 0, n = block_count(d, bl); i < n; ++i)
    new (block_claims + i) BlockClaims{{0}, {0}};
  Claims claims;
#ifdef SIGNET_WITH_OPENMP
#pragma omp parallel num_threads(nt_req)
#endif
  {
#ifdef SIGNET_WITH_OPENMP
    const int tid = omp_get_thread_num(), nt = omp_get_num_threads();
#else
    const int tid = 0, nt = 1;
#endif
    float* apack = ws + tid * a_floats;
    if (d.k == 0) {
      int64_t m0, m1;
      split(d.m, MR, tid, nt, &m0, &m1);
      for (int64_t p = 0; p < d.batch; ++p)
        scale_c(c + p * d.stride_c, d.ldc, m0, m1, 0, d.n, static_cast<float>(d.beta));
    } else if (mode == V4Split::by_rule ? shares_b(d, bl, nt) : mode == V4Split::shared_b) {
      float* const bbuf[2] = {bws, bws + b_floats};
      // Streaming pays only where a block is shared across cores (one thread keeps it cached).
      const bool one_core = nt == 1 && stores == BStores::automatic;
      shared_b<MR, NR>(d, bl, a, b, c, apack, bbuf, &claims, block_claims, done,
                       one_core || !bl.avx512 ? BStores::cached : stores, tid < (nt + 1) / 2, nt);
    } else {
      own_columns<MR, NR>(d, bl, a, b, c, nt, apack, bws + tid * b_floats, &claims, done);
    }
  }
}

}  // namespace

// Per-thread A blocks (MC rows over own_columns's k span: up to 3.75 MiB on AVX-512), max(2,
// threads) B blocks, the progress flags and the block claims, +64 for alignment; the largest
// over paths.
size_t sgemm_v4_workspace_bytes(const GemmDesc& d, int threads) {
  int64_t most = 0;
  const int64_t nt = std::max(threads, 1);
  for (SimdPath path : {SimdPath::portable, SimdPath::avx2, SimdPath::avx512}) {
    int64_t a_floats, b_floats;
    const Blocking bl = v4_blocking(path);
    panel_floats(d, bl, &a_floats, &b_floats);
    const int64_t flag_floats = flag_count(d, bl) * int64_t{sizeof(std::atomic<int64_t>)} / 4;
    const int64_t claim_floats = block_count(d, bl) * int64_t{sizeof(BlockClaims)} / 4;
    most = std::max(
        most, nt * a_floats + std::max<int64_t>(2, nt) * b_floats + flag_floats + claim_floats);
  }
  return static_cast<size_t>(most) * sizeof(float) + 64;
}

// See gemm.h. Six chunks a thread at least keep the two ends' meeting point (where one thread
// may wait for the other's last chunk) a small part of a block: 1024^3 at t2 (72-row chunks)
// ran 0.986-0.994 of v4 with 24-row chunks and the 12 x 32 tile, with four a thread (96 rows)
// 0.969-0.979, with ten (48 rows) 0.985-0.988 (alternated call by call, Zen 5 guest, 2026-12-02).
int64_t sgemm_v4_chunk_rows(const GemmDesc& d, int threads) {
  const int64_t sixth = d.m / (int64_t{6} * std::max(threads, 1));
  return std::clamp<int64_t>(sixth / kMinChunkRows * kMinChunkRows, kMinChunkRows, kV4MaxChunkRows);
}

// See gemm.h.
bool sgemm_v4_streams_c(const GemmDesc& d, const float* c, SimdPath path) {
  return d.m > 0 && d.n > 0 && d.batch > 0 && streams_c(d, v4_blocking(path), c);
}

// Aligns the workspace to 64 bytes and runs the instantiation for the path's register tile.
void sgemm_v4_shared(const GemmDesc& d, const float* a, const float* b, float* c, void* workspace,
                     int threads, SimdPath path, V4Split mode, BStores stores) {
  if (d.m <= 0 || d.n <= 0 || d.batch <= 0) return;
  float* ws = aligned64<float>(workspace);
  const Blocking bl = v4_blocking(path);
  if (bl.mr == 8) return shared_all<8, 48>(d, a, b, c, ws, threads, bl, mode, stores);
  if (bl.mr == 6) return shared_all<6, 16>(d, a, b, c, ws, threads, bl, mode, stores);
  shared_all<4, 16>(d, a, b, c, ws, threads, bl, mode, stores);
}

namespace gemm_detail {

// See gemm_store_choice.h.
BStoreChooser& b_store_chooser() {
  static BStoreChooser chooser;
  return chooser;
}

}  // namespace gemm_detail

}  // namespace signet::cpu
