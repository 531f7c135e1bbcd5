#include "kernels/cuda/simt/ptx_host.h"

#include <cstring>

#include "kernels/cuda/simt/block.h"

namespace signet::simt {
namespace {

// Lane l's place in the fragments: its group (l / 4) and its index within the group (l % 4).
struct LaneId {
  int group, in_group;
};

LaneId lane_id() {
  const unsigned l = BlockRunner::current()->self().linear % 32;
  return LaneId{int(l / 4), int(l % 4)};
}

float f32_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// The tensor core reads only the 19 tf32 bits of each operand.
float tf32_value(uint32_t bits) {
  return f32_bits(bits & 0xffffe000u);
}

float bf16_value(uint32_t reg, int half) {
  return f32_bits((reg >> (16 * half)) << 16);
}

// The operands one lane contributes to a warp-wide mma.
struct MmaOperands {
  const uint32_t* a;
  const uint32_t* b;
};

// This lane's D: c plus the row of A times the column of B at each of its four C positions
// (rows group and group + 8, columns 2 in_group and 2 in_group + 1).
template <int K>
void mma_outputs(float d[4], const float (&a)[16][K], const float (&b)[K][8], const float c[4]) {
  const LaneId id = lane_id();
  for (int i = 0; i < 4; ++i) {
    const int row = id.group + 8 * (i / 2), col = 2 * id.in_group + (i & 1);
    float acc = c[i];
    for (int k = 0; k < K; ++k) acc += a[row][k] * b[k][col];
    d[i] = acc;
  }
}

}  // namespace

uint32_t f32_to_tf32(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  if ((bits & 0x7f800000u) == 0x7f800000u) return bits & 0xffffe000u;  // inf and NaN stay
  return (bits + 0x1000u) & 0xffffe000u;  // add half an ulp of tf32 to the magnitude: ties away
}

// Gathers every lane's fragments into whole A and B (PTX ISA tf32 m16n8k8 layout: a0 (g, t),
// a1 (g + 8, t), a2 (g, t + 4), a3 (g + 8, t + 4); b0 (t, g), b1 (t + 4, g)).
void mma_m16n8k8_tf32(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4],
                      const char* file, int line) {
  const MmaOperands mine{a, b};
  const void* lanes[32];
  warp_gather(&mine, lanes, "mma.m16n8k8.tf32", file, line);
  float am[16][8], bm[8][8];
  for (int l = 0; l < 32; ++l) {
    const auto* o = static_cast<const MmaOperands*>(lanes[l]);
    const int g = l / 4, t = l % 4;
    am[g][t] = tf32_value(o->a[0]);
    am[g + 8][t] = tf32_value(o->a[1]);
    am[g][t + 4] = tf32_value(o->a[2]);
    am[g + 8][t + 4] = tf32_value(o->a[3]);
    bm[t][g] = tf32_value(o->b[0]);
    bm[t + 4][g] = tf32_value(o->b[1]);
  }
  mma_outputs(d, am, bm, c);
  __syncwarp(0xffffffffu, file, line);
}

// PTX ISA bf16 m16n8k16 layout: a_i for i = 0..7 (two per register) sits at row g + 8 (i / 2 % 2),
// column 2t + (i % 2) + 8 (i / 4); b_i for i = 0..3 at row 2t + (i % 2) + 8 (i / 2), column g.
void mma_m16n8k16_bf16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4],
                       const char* file, int line) {
  const MmaOperands mine{a, b};
  const void* lanes[32];
  warp_gather(&mine, lanes, "mma.m16n8k16.bf16", file, line);
  float am[16][16], bm[16][8];
  for (int l = 0; l < 32; ++l) {
    const auto* o = static_cast<const MmaOperands*>(lanes[l]);
    const int g = l / 4, t = l % 4;
    for (int i = 0; i < 8; ++i)
      am[g + 8 * (i / 2 % 2)][2 * t + i % 2 + 8 * (i / 4)] = bf16_value(o->a[i / 2], i % 2);
    for (int i = 0; i < 4; ++i) bm[2 * t + i % 2 + 8 * (i / 2)][g] = bf16_value(o->b[i / 2], i % 2);
  }
  mma_outputs(d, am, bm, c);
  __syncwarp(0xffffffffu, file, line);
}

// Every lane reads its two 16-bit elements from the row addresses the warp published.
void ldmatrix(uint32_t* r, int matrices, bool trans, const void* row_address, const char* file,
              int line) {
  const void* lanes[32];
  warp_gather(row_address, lanes, "ldmatrix", file, line);
  const LaneId id = lane_id();
  for (int m = 0; m < matrices; ++m) {
    uint16_t e[2];
    for (int h = 0; h < 2; ++h) {
      const int row = trans ? 2 * id.in_group + h : id.group;
      const int col = trans ? id.group : 2 * id.in_group + h;
      std::memcpy(&e[h], static_cast<const char*>(lanes[8 * m + row]) + 2 * col, 2);
    }
    r[m] = uint32_t(e[0]) | uint32_t(e[1]) << 16;
  }
  __syncwarp(0xffffffffu, file, line);
}

void cp_async(void* shared_dst, const void* global_src, int bytes) {
  BlockRunner::current()->self().async_copies.push_back(AsyncCopy{shared_dst, global_src, bytes});
}

void cp_async_commit_group() {
  ThreadState& t = BlockRunner::current()->self();
  t.async_group_ends.push_back(t.async_copies.size());
}

// Performs the copies of the oldest groups, leaving the newest `newest_pending` in flight.
void cp_async_wait_group(int newest_pending) {
  ThreadState& t = BlockRunner::current()->self();
  const int groups = int(t.async_group_ends.size());
  if (groups <= newest_pending) return;
  const size_t done = t.async_group_ends[size_t(groups - newest_pending - 1)];
  for (size_t i = 0; i < done; ++i)
    std::memcpy(t.async_copies[i].dst, t.async_copies[i].src, size_t(t.async_copies[i].bytes));
  t.async_copies.erase(t.async_copies.begin(), t.async_copies.begin() + long(done));
  t.async_group_ends.erase(t.async_group_ends.begin(),
                           t.async_group_ends.begin() + (groups - newest_pending));
  for (size_t& end : t.async_group_ends) end -= done;
}

void cp_async_wait_all() {
  cp_async_commit_group();
  cp_async_wait_group(0);
}

}  // namespace signet::simt
