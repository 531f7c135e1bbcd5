// `signet demo`: trains a small MLP on generated spiral data and prints the loss falling.
// (The gesture-video demo replaces it when the trainer and data issues land.)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/autograd.h"
#include "engine/nn/linear.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "tools/cli/commands.h"

namespace signet::cli {
namespace {

// Three interleaved spiral arms in 2-D: points (n*3, 2) and labels (n*3) as i64.
std::pair<Tensor, Tensor> spirals(int64_t n, uint64_t seed) {
  RngStream noise = init_stream(seed);
  Tensor jitter = randn({3 * n, 2}, DType::f32, &noise);
  const float* j = jitter.data<float>();
  std::vector<float> xy(3 * n * 2);
  std::vector<int64_t> labels(3 * n);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < n; ++i) {
      int64_t k = c * n + i;
      double r = static_cast<double>(i) / static_cast<double>(n);
      double angle = 4.0 * r + 2.0944 * static_cast<double>(c);
      xy[2 * k] = static_cast<float>(r * std::sin(angle) + 0.05 * j[2 * k]);
      xy[2 * k + 1] = static_cast<float>(r * std::cos(angle) + 0.05 * j[2 * k + 1]);
      labels[k] = c;
    }
  return {from_vector(xy, {3 * n, 2}), from_vector(labels, {3 * n})};
}

// Fraction of rows of logits whose argmax equals the label.
double accuracy(const Tensor& logits, const Tensor& labels) {
  std::vector<int64_t> pred = argmax(logits, 1).to_vector<int64_t>();
  std::vector<int64_t> y = labels.to_vector<int64_t>();
  int64_t hit = 0;
  for (size_t i = 0; i < y.size(); ++i) hit += pred[i] == y[i];
  return static_cast<double>(hit) / static_cast<double>(y.size());
}

}  // namespace

int run_demo(int argc, char** argv) {
  int64_t steps = 300;
  for (int i = 0; i < argc; ++i)
    if (std::string(argv[i]) == "--steps" && i + 1 < argc) steps = std::atoll(argv[++i]);
  manual_seed(7);
  auto [x, y] = spirals(200, 1);
  auto [vx, vy] = spirals(100, 2);
  nn::Linear l1(2, 64), l2(64, 64), l3(64, 3);
  std::vector<Tensor> params;
  for (const nn::Linear* l : {&l1, &l2, &l3})
    for (const Tensor& p : l->parameters()) params.push_back(p);
  auto model = [&](const Tensor& in) { return l3.forward(relu(l2.forward(relu(l1.forward(in))))); };
  const double lr = 0.5;
  std::printf(
      "signet demo: MLP 2-64-64-3 on 600 spiral points (3 classes), full-batch SGD lr %.2f\n", lr);
  std::printf("%6s %10s %9s %10s %9s\n", "step", "loss", "acc", "val_loss", "val_acc");
  double first = 0, last = 0;
  for (int64_t step = 0; step <= steps; ++step) {
    Tensor logits = model(x);
    Tensor loss = cross_entropy(logits, y);
    for (Tensor& p : params) p.zero_grad();
    loss.backward();
    {
      NoGradGuard no_grad;
      for (Tensor& p : params) p.add_(p.grad(), -lr);
    }
    last = loss.item();
    if (step == 0) first = last;
    if (step % (steps / 10 > 0 ? steps / 10 : 1) == 0) {
      NoGradGuard no_grad;
      Tensor vlogits = model(vx);
      std::printf("%6lld %10.4f %9.3f %10.4f %9.3f\n", static_cast<long long>(step), last,
                  accuracy(logits, y), cross_entropy(vlogits, vy).item(), accuracy(vlogits, vy));
      std::fflush(stdout);
    }
  }
  std::printf("loss %.4f -> %.4f (%s)\n", first, last, last < first ? "falling" : "NOT falling");
  return last < first ? 0 : 1;
}

}  // namespace signet::cli
