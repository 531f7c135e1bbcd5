#include "models/summary.h"

#include <cstdio>
#include <map>

#include "engine/allocator.h"
#include "engine/nn/conv.h"
#include "engine/nn/conv_lstm.h"
#include "engine/nn/linear.h"
#include "engine/nn/lstm.h"
#include "engine/nn/trace.h"

namespace signet::models {
namespace {

// Names every module under m by its dotted path (prefix + name).
void name_modules(const nn::Module& m, const std::string& prefix,
                  std::map<const nn::Module*, std::string>& names) {
  for (const auto& [name, child] : m.named_children()) {
    names[child.get()] = prefix + name;
    name_modules(*child, prefix + name + ".", names);
  }
}

// Multiply-adds x 2 of one traced call per sample (see summary.h for the formulas).
double layer_flops(const nn::TraceEntry& e, int64_t batch) {
  double per_sample_out = static_cast<double>(shape_numel(e.output)) / static_cast<double>(batch);
  if (auto* conv = dynamic_cast<const nn::ConvNd*>(e.module)) {
    const Tensor& w = conv->weight();
    return 2 * per_sample_out * static_cast<double>(w.numel() / w.size(0));
  }
  if (auto* lin = dynamic_cast<const nn::Linear*>(e.module))
    return 2 * per_sample_out * static_cast<double>(lin->weight().size(1));
  if (auto* lstm = dynamic_cast<const nn::LSTM*>(e.module)) {
    const nn::LstmOptions& o = lstm->options();
    int64_t T = e.output[o.batch_first ? 1 : 0], dirs = o.bidirectional ? 2 : 1;
    double macs = 0;
    for (int64_t l = 0; l < o.num_layers; ++l) {
      int64_t in = l == 0 ? o.input_size : dirs * o.hidden_size;
      macs += static_cast<double>(dirs * 4 * o.hidden_size * (in + o.hidden_size));
    }
    return 2 * static_cast<double>(T) * macs;
  }
  if (auto* cl = dynamic_cast<const nn::ConvLSTM*>(e.module)) {
    const nn::ConvLstmOptions& o = cl->options();
    int64_t T = e.output[o.batch_first ? 1 : 0];
    double hw = static_cast<double>(e.output[3] * e.output[4]), macs = 0;
    for (int64_t l = 0; l < o.num_layers; ++l) {
      int64_t in = l == 0 ? o.input_channels : o.hidden_channels;
      macs += static_cast<double>(4 * o.hidden_channels * (in + o.hidden_channels) * o.kernel_size *
                                  o.kernel_size);
    }
    return 2 * static_cast<double>(T) * hw * macs;
  }
  return 0;
}

// "1.23 M"-style rendering of a count.
std::string human(double v) {
  const char* units[] = {"", " K", " M", " G", " T"};
  int u = 0;
  while (v >= 1000 && u < 4) v /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.2f%s" : "%.0f%s", v, units[u]);
  return buf;
}

}  // namespace

Shape input_shape(const std::string& name, const ModelConfig& c, int64_t frames, int64_t batch) {
  SIGNET_CHECK(batch > 0 && frames > 0, "summary: batch (", batch, ") and frames (", frames,
               ") must be positive");
  if (name == "mlp") return {batch, c.features};
  if (name == "feature_lstm") return {batch, frames, c.features};
  if (name == "sign_cnn") return {batch, c.channels, c.height, c.width};
  return {batch, frames, c.channels, c.height, c.width};
}

ModelSummary summarize(Model& model, const Shape& input) {
  SIGNET_CHECK(!input.empty() && input[0] > 0, "summary: ", model.name(),
               " needs a batch-first input shape, got ", shape_str(input));
  ModelSummary s;
  s.model = model.name();
  s.input = input;
  bool was_training = model.training();
  std::vector<std::pair<Tensor, Tensor>> buffers;  // batch norm statistics, restored below
  for (auto& [name, b] : model.named_buffers()) buffers.emplace_back(b, b.clone());
  model.train(true);
  RngStream rng = dropout_stream(0, 0);
  Shape one = input;
  one[0] = 1;
  std::vector<Tensor> params = model.parameters();
  DType dtype = params.empty() ? DType::f32 : params.front().dtype();
  model.forward(randn(one, dtype), rng);  // warm-up: packed-weight caches are not activations
  Tensor x = randn(input, dtype);
  size_t before = CpuAllocator::instance().stats().allocated_bytes;
  std::vector<nn::TraceEntry> entries;
  {
    nn::TraceRecorder rec;
    Tensor logits = model.forward(x, rng);
    s.activation_bytes = CpuAllocator::instance().stats().allocated_bytes - before;
    entries = rec.entries();
  }
  model.train(was_training);
  for (auto& [b, saved] : buffers) Tensor(b).copy_(saved);

  std::map<const nn::Module*, std::string> names;
  name_modules(model, "", names);
  for (const nn::TraceEntry& e : entries) {
    LayerSummary l;
    l.name = names.count(e.module) ? names[e.module] : "?";
    l.type = e.type;
    l.output = e.output;
    for (const Tensor& p : e.module->parameters()) l.params += p.numel();
    l.flops = layer_flops(e, input[0]);
    s.flops += l.flops;
    s.layers.push_back(l);
  }
  for (const Tensor& p : params) {
    s.params += p.numel();
    s.param_bytes += static_cast<size_t>(p.numel()) * dtype_size(p.dtype());
  }
  return s;
}

std::string format_summary(const ModelSummary& s) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%s  input %s\n", s.model.c_str(), shape_str(s.input).c_str());
  out += line;
  std::snprintf(line, sizeof line, "%-20s %-18s %-26s %12s %14s\n", "layer", "type", "output shape",
                "params", "FLOPs/sample");
  out += line;
  for (const LayerSummary& l : s.layers) {
    std::snprintf(line, sizeof line, "%-20s %-18s %-26s %12lld %14s\n", l.name.c_str(),
                  l.type.c_str(), shape_str(l.output).c_str(), static_cast<long long>(l.params),
                  human(l.flops).c_str());
    out += line;
  }
  std::snprintf(line, sizeof line,
                "parameters: %lld (%s, %.2f MiB)\n"
                "FLOPs per sample (forward, multiply-add = 2): %s\n"
                "activation memory for training at batch %lld: %.2f MiB (measured)\n",
                static_cast<long long>(s.params), human(static_cast<double>(s.params)).c_str(),
                static_cast<double>(s.param_bytes) / (1 << 20), human(s.flops).c_str(),
                static_cast<long long>(s.input[0]),
                static_cast<double>(s.activation_bytes) / (1 << 20));
  out += line;
  return out;
}

}  // namespace signet::models
