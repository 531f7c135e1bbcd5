// What every data-set format reader returns: labelled files (videos, images, feature files,
// frame folders) with the class names, plus the helpers the readers share: numbered lines of
// list files, errors naming file and line, labels checked against their range, missing
// files counted, and a seeded stratified train/validation split.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tools/media/clip_dataset.h"

namespace signet::media {

// One split of a data set as read from its lists: samples in list order.
struct LabelledList {
  std::vector<LabelledVideo> samples;      // path, 0-based label, frame range
  std::vector<std::string> class_names;    // index = label
  int64_t skipped = 0;                     // files left out (unknown extension, missing, ...)
  std::vector<std::string> skipped_notes;  // the first few reasons, "path: reason"
};

// How many skipped files a LabelledList names one by one.
constexpr size_t kMaxSkippedNotes = 20;

// Counts a left-out file and keeps its reason while fewer than kMaxSkippedNotes are kept.
void note_skipped(LabelledList* list, const std::string& path, const std::string& reason);

// One non-empty line of a list file with its 1-based number (trailing '\r' and surrounding
// spaces removed).
struct NumberedLine {
  int64_t number = 0;
  std::string text;
};

// The non-empty lines of a text file; throws signet::Error naming the file when it cannot be
// opened.
std::vector<NumberedLine> read_list_lines(const std::string& path);

// Throws signet::Error "file:line: message".
[[noreturn]] void line_error(const std::string& file, int64_t line, const std::string& message);

// The whole of text as an integer label in [lo, hi]; otherwise a line_error naming the text
// and, when out of range, the range.
int64_t parse_label(const std::string& file, int64_t line, const std::string& text, int64_t lo,
                    int64_t hi);

// Splits text at runs of spaces and tabs.
std::vector<std::string> split_fields(const std::string& text);

// text in lower case (ASCII).
std::string lower_ascii(const std::string& text);

// Throws signet::Error naming `what` and the skip count when the list has no sample.
void require_samples(const LabelledList& list, const std::string& what);

// Indices of a training part and of the validation part carved from it.
struct TrainValIndices {
  std::vector<int64_t> train, val;
};

// Carves a validation part of round(val_fraction * n) samples (at least one when n >= 2 and
// val_fraction > 0) spread over the classes in proportion to their sizes (largest remainders
// take the places left; a class never gives all its samples); each class's samples are chosen
// by a shuffle from the shuffle_stream(seed, 0) stream. Both parts are in ascending order. For
// formats without a validation list; the test part is never touched.
TrainValIndices stratified_split(const std::vector<int64_t>& labels, double val_fraction,
                                 uint64_t seed);

// The samples of a list at the given indices (same class names, no skip counts).
LabelledList select_samples(const LabelledList& list, const std::vector<int64_t>& indices);

}  // namespace signet::media
