// safetensors files: an 8-byte little-endian header length, a JSON header
// {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "value"}} and the raw little-endian data. Dtypes F32, F64, I64,
// U8 and BF16, matching PyTorch's safetensors.torch save/load.
#pragma once
#include <map>
#include <string>

#include "engine/tensor.h"

namespace signet::io {

// The tensors of a file by name, and its optional string metadata.
struct SafetensorsData {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Reads every tensor into new contiguous CPU tensors; throws signet::Error naming the file
// and the problem (truncated file, bad header JSON, unknown dtype, offsets out of range, ...).
SafetensorsData read_safetensors(const std::string& path);
// Writes the tensors (data packed widest dtype first, then by name; header padded with
// spaces to a multiple of 8 bytes) via a temporary file renamed into place.
void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace signet::io
