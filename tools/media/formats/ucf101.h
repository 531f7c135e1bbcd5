// UCF-101 (Soomro et al. 2012) as distributed: videos in <videos>/<Class>/v_<Class>_gXX_cYY.avi
// and the split lists in <lists>/ (ucfTrainTestlist): classInd.txt (`1 ApplyEyeMakeup`),
// trainlist0N.txt (`ApplyEyeMakeup/v_..._g08_c01.avi 1`, labels 1-based) and testlist0N.txt
// (path only: the label is the class whose name matches the path's folder case-insensitively,
// as the lists spell some folders differently, e.g. HandStandPushups).
#pragma once
#include <string>
#include <vector>

#include "tools/media/formats/labelled_list.h"

namespace signet::media {

// Where a UCF-101 copy lies and which of its three splits to read.
struct Ucf101Layout {
  std::string videos;  // folder of the class folders (UCF-101/)
  std::string lists;   // folder of classInd.txt and the lists (ucfTrainTestlist/)
  int split = 1;       // 1, 2 or 3
};

// The layout of root: lists in root/ucfTrainTestlist when it exists (else root), videos in
// root/UCF-101 when it exists (else root).
Ucf101Layout ucf101_layout(const std::string& root, int split = 1);

// The class names of classInd.txt, in index order (indices must run 1, 2, 3, ...).
std::vector<std::string> read_ucf101_classes(const std::string& path);

// One list file: `path label` lines when labelled, `path` lines otherwise. A path not on disk
// as spelt is looked up with its folder and file names matched case-insensitively; files still
// missing from videos_root are skipped and counted.
LabelledList read_ucf101_list(const std::string& path, const std::string& videos_root,
                              const std::vector<std::string>& class_names, bool labelled);

// The train ("train") or test ("test") part of the layout's split.
LabelledList read_ucf101(const Ucf101Layout& layout, const std::string& part);

}  // namespace signet::media
