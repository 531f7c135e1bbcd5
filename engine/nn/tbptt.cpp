#include "engine/nn/tbptt.h"

#include <algorithm>
#include <vector>

namespace signet::nn {
namespace {

// The state cut from the graph (undefined parts stay undefined).
LstmState detached(const LstmState& s) {
  return {s.h.defined() ? s.h.detach() : Tensor(), s.c.defined() ? s.c.detach() : Tensor()};
}

// Valid steps of each sample within [start, start + steps): clamp(length - start, 0, steps).
Tensor chunk_lengths(const std::vector<int64_t>& lengths, int64_t start, int64_t steps) {
  std::vector<int64_t> out;
  for (int64_t n : lengths) out.push_back(std::clamp<int64_t>(n - start, 0, steps));
  return from_vector(out);
}

}  // namespace

LstmState truncated_bptt(const RecurrentForward& forward, const Tensor& x, int64_t k,
                         const TbpttCallback& on_chunk, const LstmState& state,
                         const Tensor& lengths, bool batch_first) {
  check_defined("truncated_bptt", x);
  SIGNET_CHECK(k >= 1, "truncated_bptt: chunk length k must be at least 1, got ", k);
  SIGNET_CHECK(x.dim() >= 2, "truncated_bptt: input needs a time and a batch dim, got ",
               shape_str(x.shape()));
  const int64_t time_dim = batch_first ? 1 : 0, T = x.size(time_dim);
  std::vector<int64_t> lens;
  if (lengths.defined()) {
    check_dtype("truncated_bptt lengths", lengths, {DType::i64});
    lens = lengths.contiguous().to_vector<int64_t>();
  }
  LstmState s = state;
  for (int64_t start = 0, index = 0; start < T; start += k, ++index) {
    TbpttChunk c;
    c.index = index;
    c.start = start;
    c.steps = std::min(k, T - start);
    c.last = start + c.steps >= T;
    c.input = x.narrow(time_dim, start, c.steps);
    if (lengths.defined()) c.lengths = chunk_lengths(lens, start, c.steps);
    std::pair<Tensor, LstmState> r = forward(c.input, s, c.lengths);
    c.output = r.first;
    c.state = r.second;
    on_chunk(c);
    s = detached(r.second);
  }
  return s;
}

LstmState truncated_bptt(LSTM& lstm, const Tensor& x, int64_t k, const TbpttCallback& on_chunk,
                         const LstmState& state, const Tensor& lengths) {
  return truncated_bptt([&lstm](const Tensor& in, const LstmState& s,
                                const Tensor& len) { return lstm.forward(in, s, len); },
                        x, k, on_chunk, state, lengths, lstm.options().batch_first);
}

}  // namespace signet::nn
