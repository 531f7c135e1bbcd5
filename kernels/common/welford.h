// Welford's running mean and sum of squared deviations, and Chan et al.'s merge of two partial
// results, shared by host and device code (batch norm statistics in one pass, no cancellation):
//   push x:   count += 1; delta = x - mean; mean += delta / count; m2 += delta (x - mean)
//   merge b:  n = na + nb; delta = mb - ma; mean = ma + delta nb / n; m2 = m2a + m2b + delta^2 na
//   nb / n
// The biased variance is m2 / count.
#pragma once
#include <cstdint>

#include "kernels/common/hostdev.h"

namespace signet::kernels {

struct Welford {
  int64_t count = 0;
  float mean = 0.0f;
  float m2 = 0.0f;
};

// Adds one value.
SIGNET_HD void welford_push(Welford& w, float x) {
  w.count += 1;
  const float delta = x - w.mean;
  w.mean += delta / static_cast<float>(w.count);
  w.m2 += delta * (x - w.mean);
}

// Merges b into a (either may be empty).
SIGNET_HD void welford_merge(Welford& a, const Welford& b) {
  if (b.count == 0) return;
  if (a.count == 0) {
    a = b;
    return;
  }
  const int64_t n = a.count + b.count;
  const float delta = b.mean - a.mean;
  const float fb = static_cast<float>(b.count) / static_cast<float>(n);
  a.mean += delta * fb;
  a.m2 += b.m2 + delta * delta * static_cast<float>(a.count) * fb;
  a.count = n;
}

}  // namespace signet::kernels
