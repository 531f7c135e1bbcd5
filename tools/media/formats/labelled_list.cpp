#include "tools/media/formats/labelled_list.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>

#include "engine/error.h"
#include "engine/random.h"

namespace signet::media {

void note_skipped(LabelledList* list, const std::string& path, const std::string& reason) {
  ++list->skipped;
  if (list->skipped_notes.size() < kMaxSkippedNotes)
    list->skipped_notes.push_back(path + ": " + reason);
}

std::vector<NumberedLine> read_list_lines(const std::string& path) {
  std::ifstream in(path);
  SIGNET_CHECK(in.good(), path, ": cannot open the list file");
  std::vector<NumberedLine> lines;
  int64_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    size_t e = line.find_last_not_of(" \t\r");
    lines.push_back({number, line.substr(b, e - b + 1)});
  }
  return lines;
}

void line_error(const std::string& file, int64_t line, const std::string& message) {
  throw Error(file + ":" + std::to_string(line) + ": " + message);
}

int64_t parse_label(const std::string& file, int64_t line, const std::string& text, int64_t lo,
                    int64_t hi) {
  size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    line_error(file, line, "label '" + text + "' is not an integer");
  if (value < lo || value > hi)
    line_error(file, line,
               "label " + text + " is out of range [" + std::to_string(lo) + ", " +
                   std::to_string(hi) + "]");
  return value;
}

std::vector<std::string> split_fields(const std::string& text) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (i < text.size()) {
    size_t b = text.find_first_not_of(" \t", i);
    if (b == std::string::npos) break;
    size_t e = text.find_first_of(" \t", b);
    if (e == std::string::npos) e = text.size();
    fields.push_back(text.substr(b, e - b));
    i = e;
  }
  return fields;
}

std::string lower_ascii(const std::string& text) {
  std::string out = text;
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void require_samples(const LabelledList& list, const std::string& what) {
  if (!list.samples.empty()) return;
  std::string message = what + ": no usable sample (" + std::to_string(list.skipped) + " skipped";
  if (!list.skipped_notes.empty()) message += ", first: " + list.skipped_notes.front();
  throw Error(message + ")");
}

TrainValIndices stratified_split(const std::vector<int64_t>& labels, double val_fraction,
                                 uint64_t seed) {
  SIGNET_CHECK(val_fraction >= 0.0 && val_fraction < 1.0,
               "stratified_split: val_fraction must be in [0, 1), got ", val_fraction);
  std::map<int64_t, std::vector<int64_t>> by_label;
  for (size_t i = 0; i < labels.size(); ++i) by_label[labels[i]].push_back(int64_t(i));
  std::vector<std::vector<int64_t>> classes;
  for (auto& entry : by_label) classes.push_back(std::move(entry.second));
  // Validation places per class: the floor of its share, then the places left of the total
  // to the largest remainders (earlier classes first on ties); a class never gives all.
  size_t want = size_t(std::llround(val_fraction * double(labels.size())));
  if (val_fraction > 0.0 && labels.size() >= 2) want = std::max<size_t>(want, 1);
  std::vector<size_t> take(classes.size());
  std::vector<std::pair<double, size_t>> remainders;
  size_t given = 0;
  for (size_t c = 0; c < classes.size(); ++c) {
    const double share = val_fraction * double(classes[c].size());
    take[c] = std::min(size_t(share), classes[c].size() - 1);
    given += take[c];
    remainders.push_back({share - double(take[c]), c});
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; k < remainders.size() && given < want; ++k) {
    const size_t c = remainders[k].second;
    if (take[c] + 1 < classes[c].size()) {
      ++take[c];
      ++given;
    }
  }
  RngStream rng = shuffle_stream(seed, 0);
  TrainValIndices out;
  for (size_t c = 0; c < classes.size(); ++c) {
    std::vector<int64_t>& members = classes[c];
    for (size_t i = members.size(); i > 1; --i)
      std::swap(members[i - 1], members[rng.uniform_int(i)]);
    out.val.insert(out.val.end(), members.begin(), members.begin() + long(take[c]));
    out.train.insert(out.train.end(), members.begin() + long(take[c]), members.end());
  }
  std::sort(out.train.begin(), out.train.end());
  std::sort(out.val.begin(), out.val.end());
  return out;
}

LabelledList select_samples(const LabelledList& list, const std::vector<int64_t>& indices) {
  LabelledList out;
  out.class_names = list.class_names;
  for (int64_t i : indices) out.samples.push_back(list.samples[size_t(i)]);
  return out;
}

}  // namespace signet::media
