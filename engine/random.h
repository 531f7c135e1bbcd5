// Per-purpose random streams over Philox4x32-10 (kernels/common/philox.h).
//
// A stream is (seed, offset, left): the Philox key is the seed, and each call takes the next
// counters of the stream, advancing offset by the number of Philox counters (blocks) it
// consumed, so successive calls never share a counter. A call that consumes k counters at
// offset o reads blocks 0 .. k-1 under offset o (element i of a fill is index i at offset o),
// and the next call starts at offset o + k. Two consecutive fills therefore use disjoint
// counters; they are not the same numbers as one fill of the combined length.
//
// The purposes live in disjoint ranges of the 64-bit offset (the seed is the same for all):
//   bits 63..62  purpose: 0 init, 1 dropout, 2 shuffle, 3 augment
//   init(seed)                    bits 61..0  counters consumed           (2^62 counters)
//   dropout(seed, step)           bits 61..32 step (< 2^30),  31..0 counters (2^32 a step)
//   shuffle(seed, epoch)          bits 61..32 epoch (< 2^30), 31..0 counters (2^32 an epoch)
//   augment(seed, epoch, sample)  bits 61..46 epoch (< 2^16), 45..20 sample (< 2^26),
//                                 19..0 counters (2^20 a sample, i.e. 4M floats)
// A stream that would run past its range throws instead of overlapping its neighbour.
//
// Dropout: the mask of the k-th dropout call in training step s uses seed = the run's seed
// and offset = 2^62 + s * 2^32 + (counters taken by the earlier dropout calls of that
// step); the op takes it with offset = reserve(dropout_blocks(n)), and unit i is kept when
// dropout_halfword(seed, offset, i) >= ceil(p 2^16) (kernels/common/dropout_desc.h), so a CUDA
// kernel handed (seed, offset) reproduces the CPU mask bit for bit.
#pragma once
#include <cstdint>

namespace signet {

// What a stream is for; its value is the top two bits of the stream's offsets.
enum class RngPurpose : uint8_t { init, dropout, shuffle, augment };

// A position in one Philox sequence: key = seed, next counter offset, counters left in range.
struct RngStream {
  uint64_t seed = 0;
  uint64_t offset = 0;
  uint64_t left = 0;

  // Takes `counters` counters: returns the offset to use with them and advances past them.
  uint64_t reserve(uint64_t counters);
  // Fills out[0..n) with uniforms in [lo, hi); takes ceil(n / 4) counters.
  void uniform(float* out, int64_t n, float lo = 0.0f, float hi = 1.0f);
  // Fills out[0..n) with uniforms in [lo, hi); takes ceil(n / 2) counters.
  void uniform(double* out, int64_t n, double lo = 0.0, double hi = 1.0);
  // Fills out[0..n) with normals (mean, stddev); takes ceil(n / 4) counters.
  void normal(float* out, int64_t n, float mean = 0.0f, float stddev = 1.0f);
  // Fills out[0..n) with normals (mean, stddev); takes ceil(n / 2) counters.
  void normal(double* out, int64_t n, double mean = 0.0, double stddev = 1.0);
  // Word 0 of the next counter; takes one counter.
  uint32_t next_u32();
  // Unbiased integer in [0, n): x = word0 + 2^32 word1 of the next counter, redrawn while
  // x < 2^64 mod n, then x mod n; takes one counter per draw. For shuffles.
  uint64_t uniform_int(uint64_t n);
};

// Parameter initialisation stream of a run.
RngStream init_stream(uint64_t seed);
// Dropout stream of one training step.
RngStream dropout_stream(uint64_t seed, uint64_t step);
// Dataset shuffling stream of one epoch.
RngStream shuffle_stream(uint64_t seed, uint64_t epoch);
// Augmentation stream of one sample in one epoch.
RngStream augment_stream(uint64_t seed, uint64_t epoch, uint64_t sample);

// Resets the process-wide initialisation stream to init_stream(seed).
void manual_seed(uint64_t seed);
// The process-wide initialisation stream (init_stream(0) until manual_seed). Not
// synchronised: seed and use it from the one thread that builds the models.
RngStream& default_init_stream();

}  // namespace signet
