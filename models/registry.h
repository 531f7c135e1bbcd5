// The model registry: every seed model by name, with a one-line description.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"

namespace signet::models {

// A registered model: its name, what it is, and how to build it.
struct ModelEntry {
  const char* name;
  const char* description;
  std::shared_ptr<Model> (*create)(const ModelConfig&);
};

// Every registered model, in a fixed order.
const std::vector<ModelEntry>& registry();
// Builds the model called name; an unknown name is an error listing the known ones.
std::shared_ptr<Model> create_model(const std::string& name, const ModelConfig& config);

}  // namespace signet::models
