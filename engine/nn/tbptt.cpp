#include "engine/nn/tbptt.h"

#include <algorithm>
#include <vector>

#include "engine/ops/join.h"

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

// Checks x, the chunk sizes and lengths; returns the lengths (empty when undefined).
std::vector<int64_t> check_args(const Tensor& x, int64_t k1, int64_t k2, const Tensor& lengths) {
  check_defined("truncated_bptt", x);
  SIGNET_CHECK(k1 >= 1, "truncated_bptt: chunk length k1 must be at least 1, got ", k1);
  SIGNET_CHECK(k2 >= k1, "truncated_bptt: backpropagation length k2 = ", k2,
               " must be at least k1 = ", k1);
  SIGNET_CHECK(x.dim() >= 2, "truncated_bptt: input needs a time and a batch dim, got ",
               shape_str(x.shape()));
  if (!lengths.defined()) return {};
  check_dtype("truncated_bptt lengths", lengths, {DType::i64});
  return lengths.cpu().contiguous().to_vector<int64_t>();
}

}  // namespace

LstmState truncated_bptt(const RecurrentForward& forward, const Tensor& x, int64_t k1, int64_t k2,
                         const TbpttCallback& on_chunk, const LstmState& state,
                         const Tensor& lengths, bool batch_first) {
  const std::vector<int64_t> lens = check_args(x, k1, k2, lengths);
  const int64_t time_dim = batch_first ? 1 : 0, T = x.size(time_dim);
  // Runs steps [from, to) from s; an empty range returns s and no output.
  auto run = [&](int64_t from, int64_t to, const LstmState& s) -> std::pair<Tensor, LstmState> {
    if (from == to) return {Tensor(), s};
    const Tensor len = lengths.defined() ? chunk_lengths(lens, from, to - from) : Tensor();
    return forward(x.narrow(time_dim, from, to - from), s, len);
  };
  LstmState start_state = state;  // at the chunk's first step: detached, or the caller's state
  for (int64_t fresh = 0, index = 0; fresh < T; fresh += k1, ++index) {
    TbpttChunk c;
    c.index = index;
    c.start = std::max<int64_t>(0, fresh - (k2 - k1));
    const int64_t end = std::min(fresh + k1, T);
    c.steps = end - c.start;
    c.new_steps = end - fresh;
    c.last = end >= T;
    // the next chunk starts at split: its state is taken there, then the graph goes on
    const int64_t split = c.last ? end : std::max<int64_t>(0, end - (k2 - k1));
    std::pair<Tensor, LstmState> a = run(c.start, split, start_state);
    std::pair<Tensor, LstmState> b = run(split, end, a.second);
    c.input = x.narrow(time_dim, c.start, c.steps);
    if (lengths.defined()) c.lengths = chunk_lengths(lens, c.start, c.steps);
    if (!a.first.defined())
      c.output = b.first;
    else if (!b.first.defined())
      c.output = a.first;
    else
      c.output = cat({a.first, b.first}, time_dim);
    c.state = b.second;
    on_chunk(c);
    // a chunk that starts where this one did (k2 - k1 >= end) reuses its start state as given
    if (c.last)
      start_state = detached(b.second);
    else if (split > c.start)
      start_state = detached(a.second);
  }
  return start_state;
}

LstmState truncated_bptt(LSTM& lstm, const Tensor& x, int64_t k1, int64_t k2,
                         const TbpttCallback& on_chunk, const LstmState& state,
                         const Tensor& lengths) {
  return truncated_bptt([&lstm](const Tensor& in, const LstmState& s,
                                const Tensor& len) { return lstm.forward(in, s, len); },
                        x, k1, k2, on_chunk, state, lengths, lstm.options().batch_first);
}

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
    lens = lengths.cpu().contiguous().to_vector<int64_t>();
  }
  LstmState s = state;
  for (int64_t start = 0, index = 0; start < T; start += k, ++index) {
    TbpttChunk c;
    c.index = index;
    c.start = start;
    c.steps = std::min(k, T - start);
    c.new_steps = c.steps;
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
