// TensorDataset: samples taken from in-memory tensors (row i of inputs, label i).
#pragma once
#include "engine/data/dataset.h"

namespace signet::data {

class TensorDataset : public Dataset {
 public:
  // inputs (N, ...) of any dtype and labels (N) i64.
  TensorDataset(Tensor inputs, Tensor labels)
      : inputs_(std::move(inputs)), labels_(std::move(labels)) {
    SIGNET_CHECK(labels_.dtype() == DType::i64 && labels_.dim() == 1 && inputs_.dim() >= 1 &&
                     inputs_.size(0) == labels_.size(0),
                 "TensorDataset: inputs ", shape_str(inputs_.shape()), " and labels ",
                 shape_str(labels_.shape()), " (", dtype_name(labels_.dtype()),
                 ") must agree on N, labels i64 (N)");
    label_values_ = labels_.to_vector<int64_t>();
  }
  int64_t size() const override { return labels_.size(0); }
  Sample get(int64_t i) const override {
    return {inputs_.narrow(0, i, 1).squeeze(0).clone(), label_values_[static_cast<size_t>(i)]};
  }

 private:
  Tensor inputs_, labels_;
  std::vector<int64_t> label_values_;
};

}  // namespace signet::data
