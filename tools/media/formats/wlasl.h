// WLASL (Li et al. 2020): WLASL_v0.3.json, a list of glosses
// `{"gloss": "book", "instances": [{"video_id": "69241", "frame_start": 1, "frame_end": -1,
// "split": "train", ...}, ...]}` and the videos at <root>/videos/<video_id>.mp4. Class index =
// gloss position in the file; WLASL100/300/1000/2000 are the first K glosses. Many videos of
// the list are no longer downloadable, so missing videos are normal: counted, not fatal.
#pragma once
#include <string>

#include "tools/media/formats/labelled_list.h"

namespace signet::media {

struct WlaslOptions {
  std::string json;    // the WLASL_v0.3.json file
  std::string videos;  // the folder of <video_id>.mp4
  int64_t top_k = 0;   // the first K glosses only (WLASL100: 100); 0 = all
};

// The options for root: root/WLASL_v0.3.json (or the first root/WLASL_v*.json) and root/videos.
WlaslOptions wlasl_layout(const std::string& root, int64_t top_k = 0);

// The instances of one split ("train", "val" or "test") with their frame ranges; videos that
// are not on disk are counted in `skipped`. Throws signet::Error naming the file and the gloss
// and instance numbers (1-based) on a malformed entry.
LabelledList read_wlasl(const WlaslOptions& options, const std::string& split);

}  // namespace signet::media
