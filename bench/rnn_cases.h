// The LSTM cases the recurrent issue measures, shared by bench_rnn.cpp and bench_cuda_rnn.cpp.
#pragma once
#include <cstdint>

namespace signet::bench {

// One LSTM case: time-major (T, N, I) input, `layers` stacked layers of H units.
struct LstmCase {
  const char* name;
  int64_t T, N, I, H, layers;
};

// The cases: L1, L2 (the CNN+LSTM seed) and S.
inline const LstmCase kLstmCases[] = {
    {"L1_B32_T20_in1024_H1024", 20, 32, 1024, 1024, 1},
    {"L2_B32_T20_in1024_H1024_2layers", 20, 32, 1024, 1024, 2},
    {"S_B32_T120_in1024_H512", 120, 32, 1024, 512, 1},
};

// Their batch 8 and 128 versions (the GPU issue's extra cases).
inline const LstmCase kLstmBatchCases[] = {
    {"L1_B8_T20_in1024_H1024", 20, 8, 1024, 1024, 1},
    {"L2_B8_T20_in1024_H1024_2layers", 20, 8, 1024, 1024, 2},
    {"S_B8_T120_in1024_H512", 120, 8, 1024, 512, 1},
    {"L1_B128_T20_in1024_H1024", 20, 128, 1024, 1024, 1},
    {"L2_B128_T20_in1024_H1024_2layers", 20, 128, 1024, 1024, 2},
    {"S_B128_T120_in1024_H512", 120, 128, 1024, 512, 1},
};

}  // namespace signet::bench
