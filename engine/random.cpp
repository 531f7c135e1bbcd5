// Per-purpose Philox streams: the offset layout and the stream calls.
#include "engine/random.h"

#include "engine/error.h"
#include "kernels/common/philox.h"
#include "kernels/reference/random.h"

namespace signet {
namespace {

// First offset of a purpose's range.
uint64_t purpose_base(RngPurpose p) {
  return static_cast<uint64_t>(p) << 62;
}

// The stream over offsets [begin, begin + size).
RngStream make_stream(uint64_t seed, uint64_t begin, uint64_t size) {
  return RngStream{seed, begin, size};
}

// Counters taken by a fill of n elements of T, after checking n.
template <class T>
uint64_t fill_blocks(int64_t n) {
  SIGNET_CHECK(n >= 0, "RngStream: negative element count ", n);
  return kernels::philox_blocks<T>(static_cast<uint64_t>(n));
}

}  // namespace

uint64_t RngStream::reserve(uint64_t counters) {
  SIGNET_CHECK(counters <= left, "RngStream: ", counters, " counters requested but only ", left,
               " left in this stream's range (seed ", seed, ", offset ", offset, ")");
  const uint64_t at = offset;
  offset += counters;
  left -= counters;
  return at;
}

void RngStream::uniform(float* out, int64_t n, float lo, float hi) {
  ref::fill_uniform(out, n, seed, reserve(fill_blocks<float>(n)), lo, hi);
}

void RngStream::uniform(double* out, int64_t n, double lo, double hi) {
  ref::fill_uniform(out, n, seed, reserve(fill_blocks<double>(n)), lo, hi);
}

void RngStream::normal(float* out, int64_t n, float mean, float stddev) {
  ref::fill_normal(out, n, seed, reserve(fill_blocks<float>(n)), mean, stddev);
}

void RngStream::normal(double* out, int64_t n, double mean, double stddev) {
  ref::fill_normal(out, n, seed, reserve(fill_blocks<double>(n)), mean, stddev);
}

uint32_t RngStream::next_u32() {
  return kernels::philox_word(seed, reserve(1), 0);
}

uint64_t RngStream::uniform_int(uint64_t n) {
  SIGNET_CHECK(n > 0, "RngStream::uniform_int: empty range [0, 0)");
  const uint64_t reject_below = (0 - n) % n;
  for (;;) {
    const kernels::Philox4x32 b = kernels::philox_block(seed, reserve(1), 0);
    const uint64_t x = b.v[0] | (static_cast<uint64_t>(b.v[1]) << 32);
    if (x >= reject_below) return x % n;
  }
}

RngStream init_stream(uint64_t seed) {
  return make_stream(seed, purpose_base(RngPurpose::init), uint64_t{1} << 62);
}

RngStream dropout_stream(uint64_t seed, uint64_t step) {
  SIGNET_CHECK(step < (uint64_t{1} << 30), "dropout_stream: step ", step, " >= 2^30");
  return make_stream(seed, purpose_base(RngPurpose::dropout) | (step << 32), uint64_t{1} << 32);
}

RngStream shuffle_stream(uint64_t seed, uint64_t epoch) {
  SIGNET_CHECK(epoch < (uint64_t{1} << 30), "shuffle_stream: epoch ", epoch, " >= 2^30");
  return make_stream(seed, purpose_base(RngPurpose::shuffle) | (epoch << 32), uint64_t{1} << 32);
}

RngStream augment_stream(uint64_t seed, uint64_t epoch, uint64_t sample) {
  SIGNET_CHECK(epoch < (uint64_t{1} << 16), "augment_stream: epoch ", epoch, " >= 2^16");
  SIGNET_CHECK(sample < (uint64_t{1} << 26), "augment_stream: sample ", sample, " >= 2^26");
  return make_stream(seed, purpose_base(RngPurpose::augment) | (epoch << 46) | (sample << 20),
                     uint64_t{1} << 20);
}

void manual_seed(uint64_t seed) {
  default_init_stream() = init_stream(seed);
}

RngStream& default_init_stream() {
  static RngStream stream = init_stream(0);
  return stream;
}

}  // namespace signet
