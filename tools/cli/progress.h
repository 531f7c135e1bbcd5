// A per-epoch progress bar for the trainer: redrawn in place on a terminal, a few plain lines
// otherwise (logs, CI).
#pragma once
#include <functional>

#include "engine/trainer.h"

namespace signet::cli {

// The trainer callback that draws the bar on stdout.
std::function<void(const TrainProgress&)> progress_printer();

}  // namespace signet::cli
