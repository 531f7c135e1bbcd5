// The zero-padded input slab of the direct CPU convolutions (v3 conv_direct.cpp, v4
// conv_small_c.cpp): the input rows that a block of output rows of one output depth reads, every
// channel, with the padding written as zeros, so that their inner loops need no bounds checks.
// Kernels never allocate and never throw.
#pragma once
#include <cstdint>

#include "kernels/common/conv_desc.h"

namespace signet::cpu {

// A slab's layout: per channel `plane` floats of dspan depth slices x sh rows x pw columns (the
// input width plus both paddings).
struct SlabShape {
  int64_t dspan = 0, sh = 0, pw = 0, plane = 0;
};

// Writes every row of the slab: the `rows` input rows from output row oh0 of output depth od on
// (rows oh0 - pad .. of each depth slice od - pad ..) of image x (C planes) between zero padding
// columns, zeros for rows and slices outside the input and rows from `rows` on, and zeros from
// the end of the last plane up to zero_floats (a tail that vector loads may read).
void fill_conv_slab(const kernels::ConvDesc& d, const SlabShape& s, const float* x, int64_t od,
                    int64_t oh0, int64_t rows, float* slab, int64_t zero_floats);

// The cache lines of the byte ranges base + o * outer_stride + i * inner_stride (o < outer,
// i < inner) of len bytes each, handed out a few at a time (take) to a kernel that prefetches
// them into L2 between its FMAs: the input of the next slab or chunk and the output rows that the
// next work item writes, so that its fill, transposes and stores find them in L2 instead of
// memory (B fwd, 1 thread, perf cpu-clock samples: fill and transposes 9.8% of the time before,
// 5.2% with the feeds and conv_direct.cpp's faster transposes). Empty by default.
class LineFeed {
 public:
  LineFeed() = default;
  LineFeed(const void* base, int64_t outer, int64_t outer_stride, int64_t inner,
           int64_t inner_stride, int64_t len);
  // Lines the whole feed hands out, at most (each range rounded out to whole lines).
  int64_t lines() const { return outer_ * inner_ * (len_ / 64 + 2); }
  // The next lines (at most count, within one range) as [*begin, *end), for a kernel to prefetch
  // a line at a time between its own loads; empty at the end.
  void take(int64_t count, const char** begin, const char** end);

 private:
  // Moves to range (o, i) (past the end when o = outer).
  void start(int64_t o, int64_t i);
  const char* base_ = nullptr;
  int64_t outer_ = 0, outer_stride_ = 0, inner_ = 0, inner_stride_ = 0, len_ = 0;
  int64_t o_ = 0, i_ = 0;
  const char* at_ = nullptr;
  const char* end_ = nullptr;
};

// The feed of the input rows that fill_conv_slab(d, s, x, od, oh0, rows, ...) reads (the rows
// and depth slices inside the input, every channel).
LineFeed conv_slab_source(const kernels::ConvDesc& d, const SlabShape& s, const float* x,
                          int64_t od, int64_t oh0, int64_t rows);

}  // namespace signet::cpu
