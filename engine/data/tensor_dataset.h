// TensorDataset: samples taken from in-memory tensors (row i of inputs, label i, length i).
#pragma once
#include "engine/data/dataset.h"

namespace signet::data {

class TensorDataset : public Dataset {
 public:
  // inputs (N, ...) of any dtype and labels (N) i64; lengths (N) i64, optional: each sample's
  // valid leading steps (data::Sample::length; -1 or >= 1).
  TensorDataset(Tensor inputs, Tensor labels, Tensor lengths = Tensor())
      : inputs_(std::move(inputs)), labels_(std::move(labels)) {
    SIGNET_CHECK(labels_.dtype() == DType::i64 && labels_.dim() == 1 && inputs_.dim() >= 1 &&
                     inputs_.size(0) == labels_.size(0),
                 "TensorDataset: inputs ", shape_str(inputs_.shape()), " and labels ",
                 shape_str(labels_.shape()), " (", dtype_name(labels_.dtype()),
                 ") must agree on N, labels i64 (N)");
    label_values_ = labels_.to_vector<int64_t>();
    if (!lengths.defined()) return;
    SIGNET_CHECK(lengths.dtype() == DType::i64 && lengths.shape() == Shape{labels_.size(0)},
                 "TensorDataset: lengths must be i64 (", labels_.size(0), "), got ",
                 dtype_name(lengths.dtype()), " ", shape_str(lengths.shape()));
    length_values_ = lengths.to_vector<int64_t>();
    for (int64_t n : length_values_)
      SIGNET_CHECK(n == -1 || (n >= 1 && inputs_.dim() >= 2 && n <= inputs_.size(1)),
                   "TensorDataset: a length of ", n, " for inputs ", shape_str(inputs_.shape()),
                   " (want -1 or 1 .. T)");
  }
  int64_t size() const override { return labels_.size(0); }
  Sample get(int64_t i) const override {
    const size_t k = static_cast<size_t>(i);
    return {inputs_.narrow(0, i, 1).squeeze(0).clone(), label_values_[k],
            length_values_.empty() ? -1 : length_values_[k]};
  }

 private:
  Tensor inputs_, labels_;
  std::vector<int64_t> label_values_;
  std::vector<int64_t> length_values_;  // empty: every sample whole
};

}  // namespace signet::data
