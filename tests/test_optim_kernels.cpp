// The fast fused optimiser updates (kernels/cpu/optim.h, v2) against the reference (v1) on odd
// sizes, for every option combination, with 1, 2 and 3 threads, over three steps so the state
// feeds back. v2 keeps the reference's operation order, but the compiler may contract a*b+c into
// an FMA differently in the two (and in vector and scalar code), so each value must be within
// 4 machine epsilons of max(1, |reference|) (a few ulps for the O(1) values used here).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/dispatch.h"
#include "kernels/cpu/optim.h"
#include "kernels/reference/optim.h"

namespace signet {
namespace {

// n values uniform in [lo, hi) from seed.
template <class T>
std::vector<T> uniform(int64_t n, double lo, double hi, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(u(gen));
  return v;
}

// Whether every a[i] is within 4 epsilons of max(1, |b[i]|) (see the file comment).
template <class T>
bool ulp_close(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  const T eps = std::numeric_limits<T>::epsilon();
  for (size_t i = 0; i < a.size(); ++i)
    if (!(std::fabs(a[i] - b[i]) <= 4 * eps * std::max(T(1), std::fabs(b[i])))) return false;
  return true;
}

const int64_t kSizes[] = {1, 15, 17, 1001, 4099};

template <class T>
void sgd_case(kernels::SgdDesc d, int threads) {
  std::vector<T> p1 = uniform<T>(d.n, -1, 1, 1), g = uniform<T>(d.n, -1, 1, 2), b1(d.n, T(0));
  std::vector<T> p2 = p1, b2 = b1;
  for (int step = 0; step < 3; ++step) {
    d.first_step = step == 0;
    ref::sgd_step<T>(d, p1.data(), g.data(), b1.data());
    cpu::sgd_step_v2<T>(d, p2.data(), g.data(), b2.data(), threads);
  }
  EXPECT_TRUE(ulp_close(p1, p2) && ulp_close(b1, b2))
      << "n " << d.n << " momentum " << d.momentum << " nesterov " << d.nesterov << " wd "
      << d.weight_decay << " threads " << threads;
}

TEST(OptimKernels, SgdV2MatchesReference) {
  for (int64_t n : kSizes)
    for (double momentum : {0.0, 0.9})
      for (bool nesterov : {false, true})
        for (double wd : {0.0, 1e-2})
          for (int threads : {1, 2, 3}) {
            if (nesterov && momentum == 0) continue;
            kernels::SgdDesc d;
            d.n = n;
            d.lr = 0.05;
            d.momentum = momentum;
            d.dampening = nesterov ? 0.0 : 0.1;
            d.weight_decay = wd;
            d.nesterov = nesterov;
            sgd_case<float>(d, threads);
            sgd_case<double>(d, threads);
          }
}

template <class T>
void adam_case(kernels::AdamDesc d, int threads) {
  std::vector<T> p1 = uniform<T>(d.n, -1, 1, 3), g = uniform<T>(d.n, -1, 1, 4);
  std::vector<T> m1(d.n, T(0)), v1(d.n, T(0)), x1(d.n, T(0));
  std::vector<T> p2 = p1, m2 = m1, v2 = v1, x2 = x1;
  for (int t = 1; t <= 3; ++t) {
    d.step_size = d.lr / (1 - std::pow(d.beta1, t));
    d.bias_correction2_sqrt = std::sqrt(1 - std::pow(d.beta2, t));
    std::vector<T> gt = g;
    for (T& x : gt) x = x * static_cast<T>(t % 2 ? 1.0 : -0.5);  // the amsgrad max changes
    ref::adam_step<T>(d, p1.data(), gt.data(), m1.data(), v1.data(), x1.data());
    cpu::adam_step_v2<T>(d, p2.data(), gt.data(), m2.data(), v2.data(), x2.data(), threads);
  }
  EXPECT_TRUE(ulp_close(p1, p2) && ulp_close(m1, m2) && ulp_close(v1, v2) && ulp_close(x1, x2))
      << "n " << d.n << " decoupled " << d.decoupled << " amsgrad " << d.amsgrad << " wd "
      << d.weight_decay << " threads " << threads;
}

TEST(OptimKernels, AdamV2MatchesReference) {
  for (int64_t n : kSizes)
    for (bool decoupled : {false, true})
      for (bool amsgrad : {false, true})
        for (double wd : {0.0, 1e-2})
          for (int threads : {1, 2, 3}) {
            kernels::AdamDesc d;
            d.n = n;
            d.lr = 1e-3;
            d.beta1 = 0.9;
            d.beta2 = 0.999;
            d.eps = 1e-8;
            d.weight_decay = wd;
            d.decoupled = decoupled;
            d.amsgrad = amsgrad;
            adam_case<float>(d, threads);
            adam_case<double>(d, threads);
          }
}

template <class T>
void rmsprop_case(const kernels::RmspropDesc& d, int threads) {
  std::vector<T> p1 = uniform<T>(d.n, -1, 1, 5), g = uniform<T>(d.n, -1, 1, 6);
  std::vector<T> s1(d.n, T(0)), a1(d.n, T(0)), b1(d.n, T(0));
  std::vector<T> p2 = p1, s2 = s1, a2 = a1, b2 = b1;
  for (int step = 0; step < 3; ++step) {
    ref::rmsprop_step<T>(d, p1.data(), g.data(), s1.data(), a1.data(), b1.data());
    cpu::rmsprop_step_v2<T>(d, p2.data(), g.data(), s2.data(), a2.data(), b2.data(), threads);
  }
  EXPECT_TRUE(ulp_close(p1, p2) && ulp_close(s1, s2) && ulp_close(a1, a2) && ulp_close(b1, b2))
      << "n " << d.n << " centered " << d.centered << " momentum " << d.momentum << " wd "
      << d.weight_decay << " threads " << threads;
}

TEST(OptimKernels, RmspropV2MatchesReference) {
  for (int64_t n : kSizes)
    for (bool centered : {false, true})
      for (double momentum : {0.0, 0.8})
        for (double wd : {0.0, 1e-2})
          for (int threads : {1, 2, 3}) {
            kernels::RmspropDesc d;
            d.n = n;
            d.lr = 1e-2;
            d.alpha = 0.99;
            d.eps = 1e-8;
            d.weight_decay = wd;
            d.momentum = momentum;
            d.centered = centered;
            rmsprop_case<float>(d, threads);
            rmsprop_case<double>(d, threads);
          }
}

}  // namespace
}  // namespace signet
