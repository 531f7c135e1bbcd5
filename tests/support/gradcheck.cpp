#include "tests/support/gradcheck.h"

#include <cmath>
#include <sstream>

#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/random.h"

namespace signet::testing {
namespace {

// The checked scalar: sum(f() * probe) as a double, without recording a graph.
double probe_loss(const std::function<Tensor()>& f, const Tensor& probe) {
  NoGradGuard no_grad;
  return sum(mul(f(), probe)).item();
}

// Compares the gradients that reach leaves (contiguous f64 tensors requiring grad, which f
// reads) with central differences made by writing into the leaves' storage.
::testing::AssertionResult check_leaves(const std::function<Tensor()>& f,
                                        const std::vector<Tensor>& leaves,
                                        const GradcheckOptions& opt) {
  for (const Tensor& l : leaves) l.zero_grad();
  Tensor out = f();
  RngStream s = init_stream(12345);
  Tensor probe = rand(out.shape(), DType::f64, &s) * 2.0 - 0.5;
  Tensor loss = sum(mul(out, probe));
  if (!loss.requires_grad())
    return ::testing::AssertionFailure() << "output does not depend on any input";
  loss.backward();

  int64_t total = 0, kinks = 0;
  for (size_t k = 0; k < leaves.size(); ++k) {
    Tensor analytic =
        leaves[k].grad().defined() ? leaves[k].grad().contiguous() : zeros_like(leaves[k]);
    if (analytic.shape() != leaves[k].shape())
      return ::testing::AssertionFailure()
             << "input " << k << ": gradient shape " << shape_str(analytic.shape())
             << " differs from input shape " << shape_str(leaves[k].shape());
    std::vector<double> a = analytic.to_vector<double>();
    Tensor x = leaves[k].detach();
    double* p = x.data<double>();
    double f0 = probe_loss(f, probe);
    for (int64_t i = 0; i < x.numel(); ++i) {
      double orig = p[i];
      p[i] = orig + opt.eps;
      double fp = probe_loss(f, probe);
      p[i] = orig - opt.eps;
      double fm = probe_loss(f, probe);
      p[i] = orig;
      ++total;
      double right = (fp - f0) / opt.eps, left = (f0 - fm) / opt.eps;
      if (std::abs(right - left) > 1e3 * opt.eps * (1 + std::abs(right) + std::abs(left)) &&
          std::abs(right - left) > 1e-3 * (1 + std::abs(right))) {
        ++kinks;
        continue;
      }
      double numeric = (fp - fm) / (2 * opt.eps);
      if (!(std::abs(a[i] - numeric) <= opt.atol + opt.rtol * std::abs(numeric)))
        return ::testing::AssertionFailure()
               << "input " << k << " (shape " << shape_str(x.shape()) << ") element " << i
               << ": analytic " << a[i] << " vs numeric " << numeric;
    }
  }
  if (kinks > opt.max_kink_fraction * static_cast<double>(total))
    return ::testing::AssertionFailure()
           << kinks << " of " << total << " elements sit on kinks; move the inputs away";
  return ::testing::AssertionSuccess();
}

}  // namespace

Tensor random_f64(const Shape& shape, double lo, double hi, uint64_t seed) {
  RngStream s = init_stream(seed);
  return rand(shape, DType::f64, &s) * (hi - lo) + lo;
}

::testing::AssertionResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                                     const std::vector<Tensor>& inputs,
                                     const GradcheckOptions& opt) {
  std::vector<Tensor> xs;
  for (const Tensor& in : inputs) {
    if (in.dtype() != DType::f64)
      return ::testing::AssertionFailure()
             << "gradcheck needs f64 inputs, got " << dtype_name(in.dtype());
    Tensor x = in.detach().clone();
    x.requires_grad_(true);
    xs.push_back(x);
  }
  return check_leaves([&] { return fn(xs); }, xs, opt);
}

::testing::AssertionResult gradcheck_params(const std::function<Tensor()>& fn,
                                            const std::vector<Tensor>& params,
                                            const GradcheckOptions& opt) {
  for (const Tensor& p : params)
    if (p.dtype() != DType::f64 || !p.is_contiguous() || !p.is_leaf() || !p.requires_grad())
      return ::testing::AssertionFailure()
             << "gradcheck_params needs contiguous f64 leaves that require grad";
  return check_leaves(fn, params, opt);
}

}  // namespace signet::testing
