// The data interfaces of the engine: a Dataset hands out samples by index, a Transform
// changes a sample's input with randomness from the augmentation stream. Formats and
// decoding live in tools/ (signet_media), which implements these.
#pragma once
#include <cstdint>

#include "engine/random.h"
#include "engine/tensor.h"

namespace signet::data {

// One example: its input (a CPU tensor: an image (C, H, W), a clip (T, C, H, W), a feature
// sequence (T, F), ...) and its class label.
struct Sample {
  Tensor input;
  int64_t label = 0;
  int64_t length = -1;  // a sequence padded to a fixed length: its valid leading steps; -1: all
};

// A finite, indexable set of samples. get() is called from the loader's background
// threads at the same time, so it must be safe to call concurrently.
class Dataset {
 public:
  virtual ~Dataset() = default;
  // Number of samples.
  virtual int64_t size() const = 0;
  // Sample i, 0 <= i < size(); throws signet::Error when it cannot be produced.
  virtual Sample get(int64_t i) const = 0;
};

// A change of a sample's input (augmentation, normalisation, dtype conversion). The loader
// hands it augment_stream(seed, epoch, sample index), so the result never depends on thread
// count or batch order; apply() is called concurrently and must not keep state.
class Transform {
 public:
  virtual ~Transform() = default;
  // The transformed input; draws any randomness from rng.
  virtual Tensor apply(const Tensor& input, RngStream& rng) const = 0;
};

}  // namespace signet::data
