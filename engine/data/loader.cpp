#include "engine/data/loader.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "engine/error.h"

namespace signet::data {

Loader::Loader(std::shared_ptr<const Dataset> dataset, const LoaderOptions& options,
               std::shared_ptr<const Transform> transform)
    : dataset_(std::move(dataset)), transform_(std::move(transform)), options_(options) {
  SIGNET_CHECK(dataset_ != nullptr, "Loader: no dataset");
  SIGNET_CHECK(dataset_->size() > 0, "Loader: the dataset is empty");
  SIGNET_CHECK(options_.batch_size > 0, "Loader: batch_size must be positive, got ",
               options_.batch_size);
  SIGNET_CHECK(options_.threads >= 0, "Loader: threads must be >= 0, got ", options_.threads);
  SIGNET_CHECK(options_.prefetch >= 1, "Loader: prefetch must be >= 1, got ", options_.prefetch);
  SIGNET_CHECK(batches_per_epoch() > 0, "Loader: drop_last with batch_size ", options_.batch_size,
               " leaves no batch of the ", dataset_->size(), " samples");
}

Loader::~Loader() {
  stop();
}

int64_t Loader::batches_per_epoch() const {
  const int64_t n = dataset_->size(), bs = options_.batch_size;
  return options_.drop_last ? n / bs : (n + bs - 1) / bs;
}

// Identity order, or a Fisher-Yates shuffle from the top down with uniform_int(i + 1).
std::vector<int64_t> Loader::epoch_order(uint64_t epoch) const {
  std::vector<int64_t> order(size_t(dataset_->size()));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (!options_.shuffle) return order;
  RngStream rng = shuffle_stream(options_.seed, epoch);
  for (size_t i = order.size(); i-- > 1;) std::swap(order[i], order[rng.uniform_int(i + 1)]);
  return order;
}

// Stops the previous epoch, computes the order and launches the threads.
void Loader::start_epoch(uint64_t epoch) {
  stop();
  epoch_ = epoch;
  order_ = epoch_order(epoch);
  next_build_ = 0;
  next_take_ = 0;
  stopping_ = false;
  started_ = true;
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { work(); });
}

// Waits for batch next_take_ (or builds it here without threads) and hands it out.
bool Loader::next(Batch& batch) {
  SIGNET_CHECK(started_, "Loader::next: call start_epoch first");
  if (next_take_ >= batches_per_epoch()) return false;
  if (threads_.empty()) {
    batch = build(next_take_++);
    return true;
  }
  Built built;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return ready_.count(next_take_) > 0; });
    auto it = ready_.find(next_take_);
    built = std::move(it->second);
    ready_.erase(it);
    ++next_take_;
  }
  changed_.notify_all();
  if (built.error) std::rethrow_exception(built.error);
  batch = std::move(built.batch);
  return true;
}

// Reads the batch's samples, applies the transform, checks they agree and stacks them.
Batch Loader::build(int64_t b) const {
  const int64_t begin = b * options_.batch_size;
  const int64_t end = std::min<int64_t>(begin + options_.batch_size, int64_t(order_.size()));
  Batch batch;
  batch.indices.assign(order_.begin() + begin, order_.begin() + end);
  std::vector<int64_t> labels, lengths;
  bool any_length = false;
  size_t row_bytes = 0;
  for (size_t k = 0; k < batch.indices.size(); ++k) {
    const int64_t i = batch.indices[k];
    Sample s = dataset_->get(i);
    SIGNET_CHECK(s.input.defined(), "Loader: sample ", i, " has no input");
    if (transform_) {
      RngStream rng = augment_stream(options_.seed, epoch_, uint64_t(i));
      s.input = transform_->apply(s.input, rng);
    }
    SIGNET_CHECK(s.input.device().is_cpu(), "Loader: sample ", i, " is on ", s.input.device().str(),
                 "; datasets hand out CPU tensors");
    if (k == 0) {
      Shape shape{int64_t(batch.indices.size())};
      shape.insert(shape.end(), s.input.shape().begin(), s.input.shape().end());
      batch.inputs = empty(shape, s.input.dtype());
      row_bytes = size_t(s.input.numel()) * dtype_size(s.input.dtype());
    } else {
      const Shape row(batch.inputs.shape().begin() + 1, batch.inputs.shape().end());
      SIGNET_CHECK(s.input.shape() == row && s.input.dtype() == batch.inputs.dtype(),
                   "Loader: sample ", i, " has input ", shape_str(s.input.shape()), " ",
                   dtype_name(s.input.dtype()), " but sample ", batch.indices[0],
                   " of the same batch has ", shape_str(row), " ",
                   dtype_name(batch.inputs.dtype()));
    }
    const Tensor c = s.input.detach().contiguous();
    if (row_bytes > 0)
      std::memcpy(static_cast<char*>(batch.inputs.raw_data()) + k * row_bytes, c.raw_data(),
                  row_bytes);
    labels.push_back(s.label);
    const int64_t steps = s.input.dim() > 0 ? s.input.size(0) : 1;
    SIGNET_CHECK(s.length >= -1 && s.length <= steps, "Loader: sample ", i, " has length ",
                 s.length, " but its input ", shape_str(s.input.shape()), " has ", steps, " steps");
    any_length = any_length || s.length >= 0;
    lengths.push_back(s.length >= 0 ? s.length : steps);
  }
  batch.labels = from_vector(labels, {int64_t(labels.size())});
  if (any_length) batch.lengths = from_vector(lengths, {int64_t(lengths.size())});
  return batch;
}

// Claims the lowest unclaimed batch once it is inside the prefetch window, builds it outside
// the lock and files it (or its error) under its number.
void Loader::work() {
  const int64_t total = batches_per_epoch();
  for (;;) {
    int64_t b = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] {
        return stopping_ || next_build_ >= total || next_build_ < next_take_ + options_.prefetch;
      });
      if (stopping_ || next_build_ >= total) return;
      b = next_build_++;
    }
    Built built;
    try {
      built.batch = build(b);
    } catch (...) {
      built.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_[b] = std::move(built);
    }
    changed_.notify_all();
  }
}

// Wakes the threads with the stop flag, joins them and clears their output.
void Loader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  ready_.clear();
}

}  // namespace signet::data
