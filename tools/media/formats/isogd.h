// ChaLearn LAP IsoGD (Wan et al. 2016): list files of `train/001/M_00001.avi
// train/001/K_00001.avi 10` lines (RGB video, depth video, label 1-based) with paths relative
// to the data set's root: train_list.txt, valid_list.txt, test_list.txt.
#pragma once
#include <string>

#include "tools/media/formats/labelled_list.h"

namespace signet::media {

constexpr int64_t kIsoGdClasses = 249;

struct IsoGdOptions {
  std::string root;                 // the folder the list paths are relative to
  bool depth = false;               // read the depth (K_) videos instead of the RGB (M_) ones
  int64_t classes = kIsoGdClasses;  // labels must lie in [1, classes]
};

// The list file of a split of root: train_list.txt ("train"), valid_list.txt ("val") or
// test_list.txt ("test").
std::string isogd_list_path(const std::string& root, const std::string& split);

// One list file; labels become 0-based, class names are the 1-based label numbers ("1" ..).
// Videos missing from root are skipped and counted.
LabelledList read_isogd_list(const std::string& list_file, const IsoGdOptions& options);

}  // namespace signet::media
