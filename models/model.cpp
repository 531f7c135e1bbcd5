#include "models/model.h"

namespace signet::models {

std::shared_ptr<nn::Linear> Model::new_head(const std::string& name, const nn::Linear& head,
                                            int64_t classes) {
  SIGNET_CHECK(classes > 0, this->name(), ": reset_head needs at least 1 class, got ", classes);
  const Tensor& w = head.weight();
  return replace_module(
      name, std::make_shared<nn::Linear>(w.size(1), classes, head.bias().defined(), w.dtype()));
}

}  // namespace signet::models
