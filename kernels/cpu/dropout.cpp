#include "kernels/cpu/dropout.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/common/dropout_desc.h"
#include "kernels/common/philox.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/threads.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace signet::cpu {
namespace {

constexpr int kChains = 4;                 // independent Philox chains per tile (latency)
constexpr int kLanes = 8;                  // Philox blocks per chain
constexpr int kBlocks = kChains * kLanes;  // Philox blocks per tile
constexpr int64_t kTileUnits = kernels::kDropoutUnitsPerBlock * kBlocks;  // units per tile
// Outputs of at least this many bytes are written by v3 with non-temporal stores: far beyond a
// core's share of the cache, the read for ownership of y is wasted traffic.
constexpr int64_t kStreamBytes = int64_t{64} << 20;
// v3 prefetches x this many tiles ahead, so its loads overlap the Philox rounds.
constexpr int64_t kPrefetchTiles = 8;

// Fills keep[0 .. kTileUnits) for the units of blocks block0 .. block0 + kBlocks - 1 (block c
// serves units 8c .. 8c + 7, kernels/common/dropout_desc.h).
using KeepTileFn = void (*)(uint64_t seed, uint64_t offset, uint64_t block0, uint32_t threshold,
                            uint8_t* keep);

// Portable keep_tile: one philox_block per block.
void keep_tile(uint64_t seed, uint64_t offset, uint64_t block0, uint32_t threshold, uint8_t* keep) {
  for (int l = 0; l < kBlocks; ++l) {
    const kernels::Philox4x32 b =
        kernels::philox_block(seed, offset, block0 + static_cast<uint64_t>(l));
    for (int j = 0; j < 8; ++j) keep[8 * l + j] = kernels::dropout_halfword(b, j) >= threshold;
  }
}

#if defined(__x86_64__)
// hi and lo 32-bit halves of m * c in each of 8 lanes (even lanes by _mm256_mul_epu32 on the
// even words, odd lanes on the words shifted down).
__attribute__((target("avx2"), always_inline)) inline void mulhilo8(__m256i m, __m256i c,
                                                                    __m256i& hi, __m256i& lo) {
  const __m256i even = _mm256_mul_epu32(m, c);
  const __m256i odd = _mm256_mul_epu32(m, _mm256_srli_epi64(c, 32));
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

// keep_tile on AVX2: one 32-bit lane per block, kChains independent chains interleaved.
__attribute__((target("avx2,bmi2"))) void keep_tile_avx2(uint64_t seed, uint64_t offset,
                                                         uint64_t block0, uint32_t threshold,
                                                         uint8_t* keep) {
  alignas(32) uint32_t lo[kBlocks], hi[kBlocks];
  for (int l = 0; l < kBlocks; ++l) {
    const uint64_t block = block0 + static_cast<uint64_t>(l);
    lo[l] = static_cast<uint32_t>(block);
    hi[l] = static_cast<uint32_t>(block >> 32);
  }
  __m256i c0[kChains], c1[kChains], c2[kChains], c3[kChains];
  for (int g = 0; g < kChains; ++g) {
    c0[g] = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo + g * kLanes));
    c1[g] = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi + g * kLanes));
    c2[g] = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(offset)));
    c3[g] = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(offset >> 32)));
  }
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(kernels::kPhiloxM0));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(kernels::kPhiloxM1));
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const __m256i key0 = _mm256_set1_epi32(static_cast<int>(k0));
    const __m256i key1 = _mm256_set1_epi32(static_cast<int>(k1));
    for (int g = 0; g < kChains; ++g) {
      __m256i hi0, lo0, hi1, lo1;
      mulhilo8(m0, c0[g], hi0, lo0);
      mulhilo8(m1, c2[g], hi1, lo1);
      c0[g] = _mm256_xor_si256(_mm256_xor_si256(hi1, c1[g]), key0);
      c1[g] = lo1;
      c2[g] = _mm256_xor_si256(_mm256_xor_si256(hi0, c3[g]), key1);
      c3[g] = lo0;
    }
    k0 += kernels::kPhiloxW0;
    k1 += kernels::kPhiloxW1;
  }
  // 16-bit compares h >= threshold (h = max(h, threshold)); p = 1 (threshold 2^16) keeps none.
  const uint64_t live = threshold > 0xFFFFu ? 0 : ~uint64_t{0};
  const __m256i thr = _mm256_set1_epi16(static_cast<short>(threshold & 0xFFFFu));
  const __m256i byte_bits = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2,
                                          2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  for (int g = 0; g < kChains; ++g) {
    const __m256i words[4] = {c0[g], c1[g], c2[g], c3[g]};
    uint64_t bits = 0;  // bit 8 l + 2 j + h: half h of word j of lane l is kept
    for (int j = 0; j < 4; ++j) {
      const __m256i kept = _mm256_cmpeq_epi16(_mm256_max_epu16(words[j], thr), words[j]);
      // Half h of lane l is bytes 4 l + 2 h, + 1 of the movemask: one bit each, at 2 l + h.
      const uint32_t halves =
          _pext_u32(static_cast<uint32_t>(_mm256_movemask_epi8(kept)), 0x55555555u);
      bits |= _pdep_u64(halves, 0x0303030303030303ull << (2 * j));
    }
    bits &= live;
    // Byte i of 32 is bit i of a 32-bit half: spread byte i / 8 over lanes, test bit i % 8.
    for (int half = 0; half < 2; ++half) {
      const int v = static_cast<int>(static_cast<uint32_t>(bits >> (32 * half)));
      const __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32(v), spread);
      const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(b, byte_bits), byte_bits);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(keep + 64 * g + 32 * half),
                          _mm256_and_si256(set, _mm256_set1_epi8(1)));
    }
  }
}

// The Philox words of the 32 blocks block0 .. block0 + 31 on AVX-512: one 64-bit lane per
// block (the word in its low half; the high halves carry garbage that vpmuludq ignores), the
// three-way xors as one vpternlogq, kChains independent chains interleaved; word j of block
// block0 + kLanes g + l is the low half of lane l of c[j][g]. hi(p) comes down by a shift
// (v2: vpsrlq shares port 0 with vpmuludq) or, with kSwap, by swapping the halves of each lane
// (v3: vpshufd runs on port 5, so the multiplies' port does half the work). The maskz forms
// avoid a GCC 12 -Wuninitialized false alarm.
template <bool kSwap>
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"), always_inline)) inline void
philox_chains_avx512(uint64_t seed, uint64_t offset, uint64_t block0, __m512i (&c)[4][kChains]) {
  const __mmask8 all = 0xFF;
  for (int g = 0; g < kChains; ++g) {
    const __m512i blocks = _mm512_add_epi64(
        _mm512_set1_epi64(static_cast<long long>(block0 + static_cast<uint64_t>(g * kLanes))),
        _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
    c[0][g] = blocks;
    c[1][g] = _mm512_maskz_srli_epi64(all, blocks, 32);
    c[2][g] = _mm512_set1_epi64(static_cast<long long>(static_cast<uint32_t>(offset)));
    c[3][g] = _mm512_set1_epi64(static_cast<long long>(offset >> 32));
  }
  const __m512i m0 = _mm512_set1_epi64(kernels::kPhiloxM0);
  const __m512i m1 = _mm512_set1_epi64(kernels::kPhiloxM1);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const __m512i key0 = _mm512_set1_epi64(k0), key1 = _mm512_set1_epi64(k1);
    for (int g = 0; g < kChains; ++g) {
      const __m512i p0 = _mm512_maskz_mul_epu32(all, c[0][g], m0);
      const __m512i p1 = _mm512_maskz_mul_epu32(all, c[2][g], m1);
      const __m512i h1 = kSwap ? _mm512_maskz_shuffle_epi32(0xFFFF, p1, _MM_PERM_CDAB)
                               : _mm512_maskz_srli_epi64(all, p1, 32);
      const __m512i h0 = kSwap ? _mm512_maskz_shuffle_epi32(0xFFFF, p0, _MM_PERM_CDAB)
                               : _mm512_maskz_srli_epi64(all, p0, 32);
      c[0][g] = _mm512_ternarylogic_epi64(h1, c[1][g], key0, 0x96);
      c[2][g] = _mm512_ternarylogic_epi64(h0, c[3][g], key1, 0x96);
      c[1][g] = p1;
      c[3][g] = p0;
    }
    k0 += kernels::kPhiloxW0;
    k1 += kernels::kPhiloxW1;
  }
}

// The keep bits of the kTileUnits units of the tile at block0 on AVX-512: bit i of bits[g] is
// unit 64 g + i. The test is one masked 16-bit compare per word on the two halves of each
// lane's low 32 bits, h >= thr16 with thr16 = threshold mod 2^16, and `live` is 0 when
// threshold = 2^16 (p = 1: nothing is kept), else all ones. kSwap as in philox_chains_avx512.
template <bool kSwap>
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,bmi2"), always_inline)) inline void
keep_bits_avx512(uint64_t seed, uint64_t offset, uint64_t block0, uint32_t thr16, uint64_t live,
                 uint64_t* bits) {
  __m512i c[4][kChains];
  philox_chains_avx512<kSwap>(seed, offset, block0, c);
  const __m512i thr = _mm512_set1_epi16(static_cast<short>(thr16));
  for (int g = 0; g < kChains; ++g) {
    uint32_t m[4];  // bit 4 l + h: half h of word j of lane l is kept
    for (int j = 0; j < 4; ++j) m[j] = _mm512_mask_cmpge_epu16_mask(0x33333333u, c[j][g], thr);
    // Bits 4 l .. 4 l + 3 of a and b are units 8 l + 0..3 and 8 l + 4..7 of lane l.
    const uint32_t a = m[0] | (m[1] << 2), b = m[2] | (m[3] << 2);
    bits[g] = (_pdep_u64(a, 0x0F0F0F0F0F0F0F0Full) | _pdep_u64(b, 0xF0F0F0F0F0F0F0F0ull)) & live;
  }
}

// Keep bytes 0 / 1 from the keep bits of a tile (bit i of bits[g] -> keep[64 g + i]).
__attribute__((target("avx512f,avx512bw"), always_inline)) inline void bits_to_bytes_avx512(
    const uint64_t* bits, uint8_t* keep) {
  for (int g = 0; g < kChains; ++g)
    _mm512_storeu_si512(keep + 64 * g,
                        _mm512_and_si512(_mm512_movm_epi8(bits[g]), _mm512_set1_epi8(1)));
}

// keep_tile on AVX-512: keep_bits_avx512 with the shift form of hi(p), expanded to bytes.
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,bmi2"))) void keep_tile_avx512(
    uint64_t seed, uint64_t offset, uint64_t block0, uint32_t threshold, uint8_t* keep) {
  alignas(64) uint64_t bits[kChains];
  keep_bits_avx512<false>(seed, offset, block0, threshold & 0xFFFFu,
                          threshold > 0xFFFFu ? 0 : ~uint64_t{0}, bits);
  bits_to_bytes_avx512(bits, keep);
}

// y[0 .. kTileUnits) = x * scale where the tile's keep bit is set, else +0 (float: 16 lanes);
// with `stream` (y 64-byte aligned) by non-temporal stores, which skip the read for ownership.
__attribute__((target("avx512f"))) inline void apply_bits_avx512(const float* x, float* y,
                                                                 const uint64_t* bits, float scale,
                                                                 bool stream) {
  const __m512 s = _mm512_set1_ps(scale);
  for (int q = 0; q < kTileUnits / 16; ++q) {
    const __mmask16 k = static_cast<__mmask16>(bits[q / 4] >> (16 * (q % 4)));
    const __m512 v = _mm512_maskz_mul_ps(k, _mm512_loadu_ps(x + 16 * q), s);
    if (stream)
      _mm512_stream_ps(y + 16 * q, v);
    else
      _mm512_storeu_ps(y + 16 * q, v);
  }
}

// The double form of apply_bits_avx512 (8 lanes).
__attribute__((target("avx512f"))) inline void apply_bits_avx512(const double* x, double* y,
                                                                 const uint64_t* bits, double scale,
                                                                 bool stream) {
  const __m512d s = _mm512_set1_pd(scale);
  for (int q = 0; q < kTileUnits / 8; ++q) {
    const __mmask8 k = static_cast<__mmask8>(bits[q / 8] >> (8 * (q % 8)));
    const __m512d v = _mm512_maskz_mul_pd(k, _mm512_loadu_pd(x + 8 * q), s);
    if (stream)
      _mm512_stream_pd(y + 8 * q, v);
    else
      _mm512_storeu_pd(y + 8 * q, v);
  }
}
#endif

// The keep_tile of the path cpu::active_simd_path() names.
KeepTileFn keep_tile_for_cpu() {
#if defined(__x86_64__)
  if (active_simd_path() == SimdPath::avx512) return &keep_tile_avx512;
  if (active_simd_path() == SimdPath::avx2) return &keep_tile_avx2;
#endif
  return &keep_tile;
}

// ys[i] = ks[i] ? xs[i] * scale : +0 without a branch: the product's bits and-ed with all ones
// or zeros (a dropped inf or nan still gives +0, as in the reference).
template <class T>
void apply_keep(const T* __restrict xs, T* __restrict ys, const uint8_t* __restrict ks, T scale,
                int64_t n) {
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  for (int64_t i = 0; i < n; ++i) {
    const T v = xs[i] * scale;
    Bits b;
    std::memcpy(&b, &v, sizeof b);
    b &= Bits{0} - static_cast<Bits>(ks[i]);
    T out;
    std::memcpy(&out, &b, sizeof out);
    ys[i] = out;
  }
}

// Applies keep (the bytes of the tile whose first unit is t) to the elements of units [a, b).
template <class T>
void apply_keep_tile(const kernels::DropoutDesc& d, const T* x, T* y, const uint8_t* keep,
                     int64_t t, int64_t a, int64_t b, T scale) {
  if (d.group == 1) {
    apply_keep(x + (a - d.first), y + (a - d.first), keep + (a - t), scale, b - a);
    return;
  }
  const int64_t end = d.first + d.n;
  for (int64_t u = a; u < b; ++u) {
    const int64_t e0 = std::max(u * d.group, d.first), e1 = std::min((u + 1) * d.group, end);
    const bool k = keep[u - t] != 0;
    for (int64_t e = e0; e < e1; ++e) y[e - d.first] = k ? x[e - d.first] * scale : T(0);
  }
}

// Applies the mask to the elements of units [u0, u1) (global unit indices), tile by tile.
template <class T>
void dropout_units(const kernels::DropoutDesc& d, const T* x, T* y, uint32_t threshold, T scale,
                   int64_t u0, int64_t u1, KeepTileFn keep_tile_fn) {
  alignas(64) uint8_t keep[kTileUnits];
  for (int64_t t = u0 - u0 % kTileUnits; t < u1; t += kTileUnits) {
    keep_tile_fn(d.seed, d.offset, static_cast<uint64_t>(t / kernels::kDropoutUnitsPerBlock),
                 threshold, keep);
    apply_keep_tile(d, x, y, keep, t, std::max(t, u0), std::min(t + kTileUnits, u1), scale);
  }
}

#if defined(__x86_64__)
// dropout_units on AVX-512 without the byte mask: whole per-element tiles go from the keep bits
// straight to masked multiplies (stored non-temporally with `stream` where y is 64-byte
// aligned); partial tiles and channel units expand the bits to bytes. Per-element x is
// prefetched kPrefetchTiles tiles ahead.
template <class T>
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,bmi2"))) void dropout_units_avx512(
    const kernels::DropoutDesc& d, const T* x, T* y, uint32_t threshold, T scale, int64_t u0,
    int64_t u1, bool stream) {
  const uint64_t live = threshold > 0xFFFFu ? 0 : ~uint64_t{0};
  const uint32_t thr16 = threshold & 0xFFFFu;
  alignas(64) uint64_t bits[kChains];
  alignas(64) uint8_t keep[kTileUnits];
  for (int64_t t = u0 - u0 % kTileUnits; t < u1; t += kTileUnits) {
    const int64_t ahead = t + kPrefetchTiles * kTileUnits;
    if (d.group == 1 && ahead + kTileUnits <= u1)
      for (int64_t q = 0; q < kTileUnits; q += 64 / static_cast<int64_t>(sizeof(T)))
        _mm_prefetch(reinterpret_cast<const char*>(x + (ahead - d.first + q)), _MM_HINT_T0);
    keep_bits_avx512<true>(d.seed, d.offset,
                           static_cast<uint64_t>(t / kernels::kDropoutUnitsPerBlock), thr16, live,
                           bits);
    const int64_t a = std::max(t, u0), b = std::min(t + kTileUnits, u1);
    if (d.group == 1 && a == t && b == t + kTileUnits) {
      T* yt = y + (t - d.first);
      apply_bits_avx512(x + (t - d.first), yt, bits, scale,
                        stream && reinterpret_cast<uintptr_t>(yt) % 64 == 0);
      continue;
    }
    bits_to_bytes_avx512(bits, keep);
    apply_keep_tile(d, x, y, keep, t, a, b, scale);
  }
  if (stream) _mm_sfence();
}
#endif

// The drop threshold ceil(p 2^16) (2^16 when p = 1) and the keep scale of d.
template <class T>
void keep_rule(const kernels::DropoutDesc& d, uint32_t& threshold, T& scale) {
  scale = d.p < 1 ? static_cast<T>(1.0 / (1.0 - d.p)) : T(0);
  threshold = kernels::dropout_threshold(d.p);
}

// Splits the units of [first, first + n) into whole tiles per thread; f masks each share.
template <class F>
void split_tiles(const kernels::DropoutDesc& d, int threads, const F& f) {
  const int64_t u_begin = d.first / d.group, u_end = (d.first + d.n - 1) / d.group + 1;
  const int64_t tiles = (u_end - 1) / kTileUnits - u_begin / kTileUnits + 1;
  const int64_t tile0 = u_begin / kTileUnits;
  parallel_ranges(tiles, threads, [&](int, int64_t ta, int64_t tb) {
    const int64_t u0 = std::max((tile0 + ta) * kTileUnits, u_begin);
    const int64_t u1 = std::min((tile0 + tb) * kTileUnits, u_end);
    if (u0 < u1) f(u0, u1);
  });
}

}  // namespace

template <class T>
void dropout_forward_v2(const kernels::DropoutDesc& d, const T* x, T* y, int threads) {
  if (d.n <= 0) return;
  uint32_t threshold;
  T scale;
  keep_rule(d, threshold, scale);
  static const KeepTileFn keep_tile_fn = keep_tile_for_cpu();
  split_tiles(d, threads, [&](int64_t u0, int64_t u1) {
    dropout_units(d, x, y, threshold, scale, u0, u1, keep_tile_fn);
  });
}

template <class T>
void dropout_forward_v3(const kernels::DropoutDesc& d, const T* x, T* y, int threads) {
  if (d.n <= 0) return;
#if defined(__x86_64__)
  if (active_simd_path() == SimdPath::avx512) {
    uint32_t threshold;
    T scale;
    keep_rule(d, threshold, scale);
    const bool stream = d.n * static_cast<int64_t>(sizeof(T)) >= kStreamBytes;
    split_tiles(d, threads, [&](int64_t u0, int64_t u1) {
      dropout_units_avx512(d, x, y, threshold, scale, u0, u1, stream);
    });
    return;
  }
#endif
  dropout_forward_v2(d, x, y, threads);
}

template void dropout_forward_v2<float>(const kernels::DropoutDesc&, const float*, float*, int);
template void dropout_forward_v2<double>(const kernels::DropoutDesc&, const double*, double*, int);
template void dropout_forward_v3<float>(const kernels::DropoutDesc&, const float*, float*, int);
template void dropout_forward_v3<double>(const kernels::DropoutDesc&, const double*, double*, int);

}  // namespace signet::cpu
