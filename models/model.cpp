#include "models/model.h"

namespace signet::models {

void Model::check_lengths(const Tensor& lengths, const Tensor& x) const {
  SIGNET_CHECK(x.dim() >= 2 && lengths.dtype() == DType::i64 && lengths.shape() == Shape{x.size(0)},
               name(), ": lengths must be i64 (N) beside sequences (N, T, ...); got lengths ",
               dtype_name(lengths.dtype()), " ", shape_str(lengths.shape()), " for input ",
               shape_str(x.shape()));
  for (int64_t n : lengths.to(Device::cpu()).to_vector<int64_t>())
    SIGNET_CHECK(n >= 1 && n <= x.size(1), name(), ": a sequence length of ", n, " is outside 1..",
                 x.size(1), " for input ", shape_str(x.shape()));
}

std::shared_ptr<nn::Linear> Model::new_head(const std::string& name, const nn::Linear& head,
                                            int64_t classes) {
  SIGNET_CHECK(classes > 0, this->name(), ": reset_head needs at least 1 class, got ", classes);
  const Tensor& w = head.weight();
  return replace_module(
      name, std::make_shared<nn::Linear>(w.size(1), classes, head.bias().defined(), w.dtype()));
}

}  // namespace signet::models
