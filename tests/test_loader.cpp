// Loader: the same batches for 0, 1 and 4 threads (transform included), every sample once
// an epoch, epochs shuffled differently, the same seed the same order, errors carried over,
// sequence lengths stacked.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "engine/data/loader.h"
#include "tests/support/expect_error.h"

namespace {

using signet::DType;
using signet::Tensor;
using signet::data::Batch;
using signet::data::Loader;
using signet::data::LoaderOptions;
using signet::data::Sample;
using signet::testing::expect_error;

// Sample i: input (2, 3) f32 filled with i + column / 10, label i % 5; sample `bad` throws
// and sample `odd` has shape (3,).
class CountingDataset : public signet::data::Dataset {
 public:
  explicit CountingDataset(int64_t n, int64_t bad = -1, int64_t odd = -1)
      : n_(n), bad_(bad), odd_(odd) {}
  int64_t size() const override { return n_; }
  Sample get(int64_t i) const override {
    SIGNET_CHECK(i != bad_, "CountingDataset: sample ", i, " is unreadable");
    std::vector<float> v;
    for (int k = 0; k < (i == odd_ ? 3 : 6); ++k) v.push_back(float(i) + float(k % 3) / 10.0f);
    return {signet::from_vector(v, i == odd_ ? signet::Shape{3} : signet::Shape{2, 3}), i % 5};
  }

 private:
  int64_t n_, bad_, odd_;
};

// Sample i: input (4, 2) f32 filled with i, label 0, length lengths[i] (-1: all steps valid).
class LengthDataset : public signet::data::Dataset {
 public:
  explicit LengthDataset(std::vector<int64_t> lengths) : lengths_(std::move(lengths)) {}
  int64_t size() const override { return int64_t(lengths_.size()); }
  Sample get(int64_t i) const override {
    return {signet::full({4, 2}, double(i)), 0, lengths_[size_t(i)]};
  }

 private:
  std::vector<int64_t> lengths_;
};

// Adds uniform noise drawn from the augmentation stream.
class Jitter : public signet::data::Transform {
 public:
  Tensor apply(const Tensor& input, signet::RngStream& rng) const override {
    Tensor out = input.clone();
    std::vector<float> noise(size_t(out.numel()));
    rng.uniform(noise.data(), out.numel(), -0.5f, 0.5f);
    float* p = out.data<float>();
    for (size_t i = 0; i < noise.size(); ++i) p[i] += noise[i];
    return out;
  }
};

// All batches of one epoch.
std::vector<Batch> epoch(Loader& loader, uint64_t e) {
  loader.start_epoch(e);
  std::vector<Batch> out;
  Batch b;
  while (loader.next(b)) out.push_back(b);
  return out;
}

// Options with the given threads and seed, batches of 8.
LoaderOptions options(int threads, uint64_t seed = 11) {
  LoaderOptions o;
  o.batch_size = 8;
  o.threads = threads;
  o.seed = seed;
  o.prefetch = 3;
  return o;
}

// Expects two epochs' batches to be bitwise identical.
void expect_same_batches(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].indices, b[i].indices) << "batch " << i;
    EXPECT_EQ(a[i].labels.to_vector<int64_t>(), b[i].labels.to_vector<int64_t>()) << "batch " << i;
    ASSERT_EQ(a[i].inputs.shape(), b[i].inputs.shape()) << "batch " << i;
    EXPECT_EQ(std::memcmp(a[i].inputs.raw_data(), b[i].inputs.raw_data(),
                          size_t(a[i].inputs.numel()) * sizeof(float)),
              0)
        << "batch " << i;
  }
}

TEST(Loader, SameBatchesWithZeroOneAndFourThreads) {
  auto ds = std::make_shared<CountingDataset>(101);
  auto jitter = std::make_shared<Jitter>();
  Loader l0(ds, options(0), jitter), l1(ds, options(1), jitter), l4(ds, options(4), jitter);
  for (uint64_t e : {0, 1, 5}) {
    const std::vector<Batch> b1 = epoch(l1, e);
    expect_same_batches(b1, epoch(l0, e));
    expect_same_batches(b1, epoch(l4, e));
  }
}

TEST(Loader, EverySampleOnceAnEpochStackedWithItsLabel) {
  auto ds = std::make_shared<CountingDataset>(101);
  Loader loader(ds, options(4));
  EXPECT_EQ(loader.batches_per_epoch(), 13);
  const std::vector<Batch> batches = epoch(loader, 2);
  ASSERT_EQ(batches.size(), 13u);
  EXPECT_EQ(batches.back().inputs.shape(), (signet::Shape{5, 2, 3}));
  std::vector<int64_t> seen;
  for (const Batch& b : batches) {
    const std::vector<float> x = b.inputs.to_vector<float>();
    const std::vector<int64_t> y = b.labels.to_vector<int64_t>();
    for (size_t r = 0; r < b.indices.size(); ++r) {
      EXPECT_EQ(x[r * 6 + 4], float(b.indices[r]) + 0.1f);
      EXPECT_EQ(y[r], b.indices[r] % 5);
    }
    seen.insert(seen.end(), b.indices.begin(), b.indices.end());
  }
  EXPECT_EQ(seen, loader.epoch_order(2));
  std::sort(seen.begin(), seen.end());
  std::vector<int64_t> all(101);
  std::iota(all.begin(), all.end(), int64_t{0});
  EXPECT_EQ(seen, all);
}

TEST(Loader, EpochsDifferSeedsRepeat) {
  auto ds = std::make_shared<CountingDataset>(50);
  Loader a(ds, options(2, 3)), b(ds, options(2, 3)), c(ds, options(2, 4));
  EXPECT_NE(a.epoch_order(0), a.epoch_order(1));
  EXPECT_EQ(a.epoch_order(0), b.epoch_order(0));
  EXPECT_EQ(a.epoch_order(7), b.epoch_order(7));
  EXPECT_NE(a.epoch_order(0), c.epoch_order(0));
  expect_same_batches(epoch(a, 1), epoch(b, 1));

  LoaderOptions in_order = options(2);
  in_order.shuffle = false;
  Loader d(ds, in_order);
  std::vector<int64_t> all(50);
  std::iota(all.begin(), all.end(), int64_t{0});
  EXPECT_EQ(d.epoch_order(3), all);
}

TEST(Loader, DropLastDropsTheShortBatch) {
  LoaderOptions o = options(2);
  o.drop_last = true;
  Loader loader(std::make_shared<CountingDataset>(101), o);
  const std::vector<Batch> batches = epoch(loader, 0);
  ASSERT_EQ(batches.size(), 12u);
  for (const Batch& b : batches) EXPECT_EQ(b.inputs.size(0), 8);
}

TEST(Loader, ErrorsReachTheCaller) {
  for (int threads : {0, 4}) {
    Loader bad(std::make_shared<CountingDataset>(40, 17), options(threads));
    bad.start_epoch(0);
    Batch b;
    expect_error(
        [&] {
          while (bad.next(b)) {
          }
        },
        {"sample 17 is unreadable"});
    Loader odd(std::make_shared<CountingDataset>(40, -1, 9), options(threads));
    odd.start_epoch(0);
    expect_error(
        [&] {
          while (odd.next(b)) {
          }
        },
        {"sample 9 has input [3] f32", "[2, 3] f32"});
  }
  expect_error([&] { Loader(std::make_shared<CountingDataset>(0), options(1)); }, {"empty"});
  LoaderOptions zero = options(1);
  zero.batch_size = 0;
  expect_error([&] { Loader(std::make_shared<CountingDataset>(3), zero); }, {"batch_size"});
  Loader unstarted(std::make_shared<CountingDataset>(3), options(1));
  Batch b;
  expect_error([&] { unstarted.next(b); }, {"start_epoch"});
}

TEST(Loader, RestartingOrDroppingMidEpochIsClean) {
  auto ds = std::make_shared<CountingDataset>(200);
  Loader loader(ds, options(4));
  loader.start_epoch(0);
  Batch b;
  ASSERT_TRUE(loader.next(b));
  const std::vector<Batch> full = epoch(loader, 0);
  EXPECT_EQ(full.size(), 25u);
  EXPECT_EQ(full[0].indices, b.indices);
  loader.start_epoch(1);
  ASSERT_TRUE(loader.next(b));
}

TEST(Loader, LengthsAreStackedWithMinusOneAsTheFullLength) {
  LoaderOptions o = options(2);
  o.shuffle = false;
  o.batch_size = 3;
  Loader loader(std::make_shared<LengthDataset>(std::vector<int64_t>{2, -1, 4, -1, -1, -1}), o);
  const std::vector<Batch> batches = epoch(loader, 0);
  ASSERT_EQ(batches.size(), 2u);
  ASSERT_TRUE(batches[0].lengths.defined());
  EXPECT_EQ(batches[0].lengths.to_vector<int64_t>(), (std::vector<int64_t>{2, 4, 4}));
  EXPECT_FALSE(batches[1].lengths.defined());  // no sample of the batch reported a length
  Loader bad(std::make_shared<LengthDataset>(std::vector<int64_t>{1, 5}), o);
  bad.start_epoch(0);
  Batch b;
  expect_error([&] { bad.next(b); }, {"sample 1 has length 5", "4 steps"});
}

}  // namespace
