// Layer tracing for model summaries: while a TraceRecorder lives on a thread, the nn modules'
// forward (Conv2d/3d, Linear, pools, LSTM, ConvLSTM) report their type and output shape to it.
// Off (no recorder) the cost is one thread-local pointer test per module call.
#pragma once
#include <string>
#include <vector>

#include "engine/nn/module.h"

namespace signet::nn {

// One module call: the module, its torch.nn type name and its output shape.
struct TraceEntry {
  const Module* module;
  std::string type;
  Shape output;
};

// Collects the module calls of this thread from construction to destruction (not nestable).
class TraceRecorder {
 public:
  TraceRecorder();
  ~TraceRecorder();
  TraceRecorder(const TraceRecorder&) = delete;
  TraceRecorder& operator=(const TraceRecorder&) = delete;
  const std::vector<TraceEntry>& entries() const { return entries_; }
  // Appends one call (used by trace_output).
  void add(TraceEntry e) { entries_.push_back(std::move(e)); }

 private:
  std::vector<TraceEntry> entries_;
};

// Reports a module call's output to this thread's recorder, when there is one.
void trace_output(const Module* m, const char* type, const Tensor& output);

}  // namespace signet::nn
