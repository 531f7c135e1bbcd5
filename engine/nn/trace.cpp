#include "engine/nn/trace.h"

namespace signet::nn {
namespace {

thread_local TraceRecorder* active = nullptr;

}  // namespace

TraceRecorder::TraceRecorder() {
  SIGNET_CHECK(active == nullptr, "TraceRecorder: a recorder is already active on this thread");
  active = this;
}

TraceRecorder::~TraceRecorder() {
  active = nullptr;
}

void trace_output(const Module* m, const char* type, const Tensor& output) {
  if (active) active->add({m, type, output.shape()});
}

}  // namespace signet::nn
