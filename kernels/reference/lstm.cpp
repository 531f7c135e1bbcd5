// Reference fused LSTM cell: one pass over rows and units, per-unit math from lstm_cell.h.
#include "kernels/reference/lstm.h"

namespace signet::ref {

using kernels::LstmCellDesc;

// Activates the gates of each unit and updates its state; inactive rows carry theirs.
template <class T>
void lstm_cell_forward(const LstmCellDesc& d, const int64_t* lengths, const T* gates,
                       const T* c_prev, const T* h_prev, T* act, T* c, T* h, T* y) {
  const int64_t H = d.hidden;
  for (int64_t b = 0; b < d.batch; ++b) {
    const T* a = gates + b * 4 * H;
    T* s = act + b * 4 * H;
    const T* cp = c_prev + b * H;
    T* cb = c + b * H;
    T* hb = h + b * H;
    T* yb = y ? y + b * H : nullptr;
    if (!kernels::lstm_row_active(d, lengths, b)) {
      for (int64_t j = 0; j < 4 * H; ++j) s[j] = T(0);
      for (int64_t j = 0; j < H; ++j) {
        cb[j] = cp[j];
        hb[j] = h_prev[b * H + j];
        if (yb) yb[j] = T(0);
      }
      continue;
    }
    for (int64_t j = 0; j < H; ++j) {
      T i, f, g, o;
      kernels::lstm_gates(a[j], a[H + j], a[2 * H + j], a[3 * H + j], i, f, g, o);
      s[j] = i;
      s[H + j] = f;
      s[2 * H + j] = g;
      s[3 * H + j] = o;
      kernels::lstm_state(i, f, g, o, cp[j], cb[j], hb[j]);
      if (yb) yb[j] = hb[j];
    }
  }
}

// Back-propagates one step through each unit; inactive rows pass dh and dc through.
template <class T>
void lstm_cell_backward(const LstmCellDesc& d, const int64_t* lengths, const T* act,
                        const T* c_prev, const T* c, const T* dy, T* dh, T* dc, T* dgates) {
  const int64_t H = d.hidden;
  for (int64_t b = 0; b < d.batch; ++b) {
    const T* s = act + b * 4 * H;
    T* dg = dgates + b * 4 * H;
    if (!kernels::lstm_row_active(d, lengths, b)) {
      for (int64_t j = 0; j < 4 * H; ++j) dg[j] = T(0);
      continue;
    }
    for (int64_t j = 0; j < H; ++j) {
      const int64_t k = b * H + j;
      const T dh_total = dh[k] + (dy ? dy[k] : T(0));
      kernels::lstm_unit_backward(s[j], s[H + j], s[2 * H + j], s[3 * H + j], c_prev[k], c[k],
                                  dh_total, dc[k], dg[j], dg[H + j], dg[2 * H + j], dg[3 * H + j],
                                  dc[k]);
      dh[k] = T(0);
    }
  }
}

template <class T>
void lstm_cell_forward_sum(const LstmCellDesc& d, const int64_t* lengths, const T* gates,
                           const T* gates2, const T* c_prev, const T* h_prev, T* act, T* c, T* h,
                           T* y) {
  for (int64_t k = 0; k < d.batch * 4 * d.hidden; ++k) act[k] = gates[k] + gates2[k];
  lstm_cell_forward(d, lengths, act, c_prev, h_prev, act, c, h, y);
}

template void lstm_cell_forward_sum<float>(const LstmCellDesc&, const int64_t*, const float*,
                                           const float*, const float*, const float*, float*, float*,
                                           float*, float*);
template void lstm_cell_forward_sum<double>(const LstmCellDesc&, const int64_t*, const double*,
                                            const double*, const double*, const double*, double*,
                                            double*, double*, double*);
template void lstm_cell_forward<float>(const LstmCellDesc&, const int64_t*, const float*,
                                       const float*, const float*, float*, float*, float*, float*);
template void lstm_cell_forward<double>(const LstmCellDesc&, const int64_t*, const double*,
                                        const double*, const double*, double*, double*, double*,
                                        double*);
template void lstm_cell_backward<float>(const LstmCellDesc&, const int64_t*, const float*,
                                        const float*, const float*, const float*, float*, float*,
                                        float*);
template void lstm_cell_backward<double>(const LstmCellDesc&, const int64_t*, const double*,
                                         const double*, const double*, const double*, double*,
                                         double*, double*);

}  // namespace signet::ref
