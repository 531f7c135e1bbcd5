// Loader: turns a Dataset into batches, assembled on background threads with prefetch.
// Epoch e visits the samples in the order of a Fisher-Yates shuffle drawn from
// shuffle_stream(seed, e); sample i's transform draws from augment_stream(seed, e, i); each
// batch is built whole by one thread and handed out in order, so 0, 1 or 4 threads give
// bitwise identical batches.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/data/dataset.h"

namespace signet::data {

struct LoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = true;     // false: dataset order every epoch
  bool drop_last = false;  // true: drop a last batch smaller than batch_size
  uint64_t seed = 0;       // key of the shuffle and augmentation streams
  int threads = 2;         // background threads; 0 builds each batch inside next()
  int prefetch = 4;        // batches built ahead of the consumer (>= 1)
};

// Samples stacked along a new first dimension.
struct Batch {
  Tensor inputs;                 // (N, ...input shape), the samples' dtype
  Tensor labels;                 // (N), i64
  std::vector<int64_t> indices;  // the dataset index of each row
  // i64 (N): each row's valid leading steps (Sample::length; the full dim 1 where -1); undefined
  // when no sample of the batch reported a length.
  Tensor lengths;
};

class Loader {
 public:
  // Checks the options; the loader shares ownership of the dataset and the transform.
  Loader(std::shared_ptr<const Dataset> dataset, const LoaderOptions& options,
         std::shared_ptr<const Transform> transform = nullptr);
  // Stops and joins the background threads.
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Batches in one epoch.
  int64_t batches_per_epoch() const;
  // The dataset indices in the order epoch `epoch` visits them.
  std::vector<int64_t> epoch_order(uint64_t epoch) const;
  // Begins epoch `epoch` (abandoning any unfinished one) and starts building its batches.
  void start_epoch(uint64_t epoch);
  // The next batch of the current epoch; false when the epoch is done. An error raised
  // while building a batch (by the dataset or the transform) is rethrown here.
  bool next(Batch& batch);

 private:
  // A finished batch or the error that stopped it.
  struct Built {
    Batch batch;
    std::exception_ptr error;
  };
  // Builds batch b of the current epoch (safe to call from any thread).
  Batch build(int64_t b) const;
  // Background thread body: claims batch numbers inside the prefetch window and builds them.
  void work();
  // Stops the background threads and drops what they built.
  void stop();

  std::shared_ptr<const Dataset> dataset_;
  std::shared_ptr<const Transform> transform_;
  LoaderOptions options_;
  uint64_t epoch_ = 0;
  bool started_ = false;
  std::vector<int64_t> order_;
  int64_t next_build_ = 0;  // next batch a thread will claim
  int64_t next_take_ = 0;   // next batch next() hands out
  std::map<int64_t, Built> ready_;
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::thread> threads_;
};

}  // namespace signet::data
