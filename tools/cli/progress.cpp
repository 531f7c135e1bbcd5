#include "tools/cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace signet::cli {

std::function<void(const TrainProgress&)> progress_printer() {
  bool tty = isatty(fileno(stdout)) != 0;
  return [tty](const TrainProgress& p) {
    double rate = p.seconds > 0 ? static_cast<double>(p.samples) / p.seconds : 0;
    double eta = p.batch > 0 ? p.seconds * static_cast<double>(p.batches - p.batch) /
                                   static_cast<double>(p.batch)
                             : 0;
    bool last = p.batch == p.batches;
    if (!tty) {
      // Plain lines at about every quarter of an epoch.
      int64_t quarter = p.batches >= 4 ? p.batches / 4 : 1;
      if (!last && p.batch % quarter != 0) return;
    }
    const int width = 24;
    int filled = static_cast<int>(width * p.batch / (p.batches > 0 ? p.batches : 1));
    char bar[width + 1];
    for (int i = 0; i < width; ++i) bar[i] = i < filled ? '=' : ' ';
    bar[width] = '\0';
    std::printf("%sepoch %lld/%lld [%s] %lld/%lld  %.1f samples/s  ETA %.0fs  loss %.4f%s",
                tty ? "\r" : "", static_cast<long long>(p.epoch + 1),
                static_cast<long long>(p.epochs), bar, static_cast<long long>(p.batch),
                static_cast<long long>(p.batches), rate, eta, p.loss, tty && !last ? "" : "\n");
    std::fflush(stdout);
  };
}

}  // namespace signet::cli
