// Device intrinsics for the host SIMT mode: atomics, fast math, bit tricks, vector types.
// Atomics must be real atomics: blocks run concurrently on several OS threads. Threads of one
// block never interleave between two instructions, only at barriers and warp collectives.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace signet::simt {

// Reinterprets the bits of one value as another type of the same size.
template <class To, class From>
inline To bit_cast(From from) {
  static_assert(sizeof(To) == sizeof(From), "bit_cast between types of one size");
  To to;
  std::memcpy(&to, &from, sizeof(To));
  return to;
}

// Atomically replaces *addr by f(*addr) with a compare-and-swap loop; returns the old value.
// Floats go through their integer bits, so no tearing and no lost update.
template <class T, class F>
inline T atomic_update(T* addr, F f) {
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  auto* word = reinterpret_cast<Bits*>(addr);
  Bits old_bits = __atomic_load_n(word, __ATOMIC_RELAXED);
  for (;;) {
    const T old = bit_cast<T>(old_bits);
    const Bits new_bits = bit_cast<Bits>(T(f(old)));
    if (__atomic_compare_exchange_n(word, &old_bits, new_bits, true, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
      return old;
  }
}

// atomicAdd, atomicSub, atomicExch, atomicMin, atomicMax, atomicAnd/Or/Xor, atomicCAS,
// atomicInc, atomicDec: the overloads CUDA has, with CUDA's relaxed ordering.
#define SIGNET_SIMT_INTEGER_ATOMICS(T)                                                      \
  inline T atomicAdd(T* a, T v) {                                                           \
    return __atomic_fetch_add(a, v, __ATOMIC_RELAXED);                                      \
  }                                                                                         \
  inline T atomicExch(T* a, T v) {                                                          \
    return __atomic_exchange_n(a, v, __ATOMIC_RELAXED);                                     \
  }                                                                                         \
  inline T atomicMin(T* a, T v) {                                                           \
    return atomic_update(a, [v](T o) { return v < o ? v : o; });                            \
  }                                                                                         \
  inline T atomicMax(T* a, T v) {                                                           \
    return atomic_update(a, [v](T o) { return v > o ? v : o; });                            \
  }                                                                                         \
  inline T atomicAnd(T* a, T v) {                                                           \
    return __atomic_fetch_and(a, v, __ATOMIC_RELAXED);                                      \
  }                                                                                         \
  inline T atomicOr(T* a, T v) {                                                            \
    return __atomic_fetch_or(a, v, __ATOMIC_RELAXED);                                       \
  }                                                                                         \
  inline T atomicXor(T* a, T v) {                                                           \
    return __atomic_fetch_xor(a, v, __ATOMIC_RELAXED);                                      \
  }                                                                                         \
  inline T atomicCAS(T* a, T compare, T v) {                                                \
    __atomic_compare_exchange_n(a, &compare, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED); \
    return compare;                                                                         \
  }
SIGNET_SIMT_INTEGER_ATOMICS(int)
SIGNET_SIMT_INTEGER_ATOMICS(unsigned)
SIGNET_SIMT_INTEGER_ATOMICS(unsigned long long)
#undef SIGNET_SIMT_INTEGER_ATOMICS

inline int atomicSub(int* a, int v) {
  return __atomic_fetch_sub(a, v, __ATOMIC_RELAXED);
}
inline unsigned atomicSub(unsigned* a, unsigned v) {
  return __atomic_fetch_sub(a, v, __ATOMIC_RELAXED);
}
inline long long atomicMin(long long* a, long long v) {
  return atomic_update(a, [v](long long o) { return v < o ? v : o; });
}
inline long long atomicMax(long long* a, long long v) {
  return atomic_update(a, [v](long long o) { return v > o ? v : o; });
}
inline float atomicAdd(float* a, float v) {
  return atomic_update(a, [v](float o) { return o + v; });
}
inline double atomicAdd(double* a, double v) {
  return atomic_update(a, [v](double o) { return o + v; });
}
inline float atomicExch(float* a, float v) {
  return bit_cast<float>(
      __atomic_exchange_n(reinterpret_cast<uint32_t*>(a), bit_cast<uint32_t>(v), __ATOMIC_RELAXED));
}
// ((old >= limit) ? 0 : old + 1), CUDA's wrapping increment.
inline unsigned atomicInc(unsigned* a, unsigned limit) {
  return atomic_update(a, [limit](unsigned o) { return o >= limit ? 0u : o + 1; });
}
// ((old == 0 || old > limit) ? limit : old - 1), CUDA's wrapping decrement.
inline unsigned atomicDec(unsigned* a, unsigned limit) {
  return atomic_update(a, [limit](unsigned o) { return o == 0 || o > limit ? limit : o - 1; });
}

// Memory fences: a full fence is stronger than any of CUDA's scopes.
inline void __threadfence() {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
inline void __threadfence_block() {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

// min and max as CUDA's device headers overload them for mixed argument types.
template <class A, class B>
inline std::common_type_t<A, B> min(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(b) < C(a) ? C(b) : C(a);
}
template <class A, class B>
inline std::common_type_t<A, B> max(A a, B b) {
  using C = std::common_type_t<A, B>;
  return C(a) < C(b) ? C(b) : C(a);
}

// Fast-math intrinsics: the GPU trades accuracy for speed; the host computes them exactly.
inline float __expf(float x) {
  return std::exp(x);
}
inline float __exp10f(float x) {
  return std::pow(10.0f, x);
}
inline float __logf(float x) {
  return std::log(x);
}
inline float __log2f(float x) {
  return std::log2(x);
}
inline float __log10f(float x) {
  return std::log10(x);
}
inline float __powf(float x, float y) {
  return std::pow(x, y);
}
inline float __sinf(float x) {
  return std::sin(x);
}
inline float __cosf(float x) {
  return std::cos(x);
}
inline float __tanf(float x) {
  return std::tan(x);
}
inline void __sincosf(float x, float* s, float* c) {
  *s = std::sin(x);
  *c = std::cos(x);
}
inline float __fdividef(float x, float y) {
  return x / y;
}
inline float __frcp_rn(float x) {
  return 1.0f / x;
}
inline float __fsqrt_rn(float x) {
  return std::sqrt(x);
}
inline float __frsqrt_rn(float x) {
  return 1.0f / std::sqrt(x);
}
inline float rsqrtf(float x) {
  return 1.0f / std::sqrt(x);
}
inline double rsqrt(double x) {
  return 1.0 / std::sqrt(x);
}
inline float __saturatef(float x) {
  return x >= 1.0f ? 1.0f : (x > 0.0f ? x : 0.0f);
}
inline float __fmaf_rn(float a, float b, float c) {
  return std::fma(a, b, c);
}
inline float __fadd_rn(float a, float b) {
  return a + b;
}
inline float __fsub_rn(float a, float b) {
  return a - b;
}
inline float __fmul_rn(float a, float b) {
  return a * b;
}
inline float __fdiv_rn(float a, float b) {
  return a / b;
}
inline double __fma_rn(double a, double b, double c) {
  return std::fma(a, b, c);
}

// Conversions: _rn rounds to nearest even, _rz toward zero, _rd down, _ru up.
inline int __float2int_rn(float x) {
  return int(std::nearbyint(x));
}
inline int __float2int_rz(float x) {
  return int(std::trunc(x));
}
inline int __float2int_rd(float x) {
  return int(std::floor(x));
}
inline int __float2int_ru(float x) {
  return int(std::ceil(x));
}
inline float __int2float_rn(int x) {
  return float(x);
}
inline int __float_as_int(float x) {
  return bit_cast<int>(x);
}
inline float __int_as_float(int x) {
  return bit_cast<float>(x);
}
inline unsigned __float_as_uint(float x) {
  return bit_cast<unsigned>(x);
}
inline float __uint_as_float(unsigned x) {
  return bit_cast<float>(x);
}
inline long long __double_as_longlong(double x) {
  return bit_cast<long long>(x);
}
inline double __longlong_as_double(long long x) {
  return bit_cast<double>(x);
}

// Bit tricks: population count, leading zeros, first set bit (1-based, 0 for none), reversal.
inline int __popc(unsigned x) {
  return __builtin_popcount(x);
}
inline int __popcll(unsigned long long x) {
  return __builtin_popcountll(x);
}
inline int __clz(int x) {
  return x == 0 ? 32 : __builtin_clz(unsigned(x));
}
inline int __clzll(long long x) {
  return x == 0 ? 64 : __builtin_clzll((unsigned long long)x);
}
inline int __ffs(int x) {
  return __builtin_ffs(x);
}
inline int __ffsll(long long x) {
  return __builtin_ffsll(x);
}
inline unsigned __brev(unsigned x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0F0F0F0Fu) | ((x & 0x0F0F0F0Fu) << 4);
  return __builtin_bswap32(x);
}
inline unsigned __umulhi(unsigned a, unsigned b) {
  return unsigned((uint64_t(a) * b) >> 32);
}
inline int __mulhi(int a, int b) {
  return int((int64_t(a) * b) >> 32);
}

// Read-only cached load: a plain load on the host.
template <class T>
inline T __ldg(const T* p) {
  return *p;
}

// CUDA's vector types with their alignment, so float4 loads keep their layout.
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) int2 {
  int x, y;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
inline float2 make_float2(float x, float y) {
  return {x, y};
}
inline float4 make_float4(float x, float y, float z, float w) {
  return {x, y, z, w};
}
inline int2 make_int2(int x, int y) {
  return {x, y};
}
inline int4 make_int4(int x, int y, int z, int w) {
  return {x, y, z, w};
}

}  // namespace signet::simt
